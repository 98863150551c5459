namespace Wattstream.Telemetry;

/// <summary>The sun's elevation for a place and time (NOAA's low-precision formulas, good to a fraction of a degree).</summary>
public static class SolarPosition
{
    /// <summary>Elevation above the horizon in degrees (negative at night).</summary>
    public static double ElevationDegrees(DateTimeOffset time, double latitude, double longitude)
    {
        var utc = time.UtcDateTime;
        var dayOfYear = utc.DayOfYear;
        var hour = utc.TimeOfDay.TotalHours;
        var gamma = 2 * Math.PI / 365 * (dayOfYear - 1 + ((hour - 12) / 24));
        var equationOfTime = 229.18 * (0.000075 + (0.001868 * Math.Cos(gamma)) - (0.032077 * Math.Sin(gamma))
            - (0.014615 * Math.Cos(2 * gamma)) - (0.040849 * Math.Sin(2 * gamma)));
        var declination = 0.006918 - (0.399912 * Math.Cos(gamma)) + (0.070257 * Math.Sin(gamma))
            - (0.006758 * Math.Cos(2 * gamma)) + (0.000907 * Math.Sin(2 * gamma))
            - (0.002697 * Math.Cos(3 * gamma)) + (0.00148 * Math.Sin(3 * gamma));
        var trueSolarMinutes = (hour * 60) + equationOfTime + (4 * longitude);
        var hourAngle = ((trueSolarMinutes / 4) - 180) * Math.PI / 180;
        var lat = latitude * Math.PI / 180;
        var cosZenith = (Math.Sin(lat) * Math.Sin(declination)) + (Math.Cos(lat) * Math.Cos(declination) * Math.Cos(hourAngle));
        return 90 - (Math.Acos(Math.Clamp(cosZenith, -1, 1)) * 180 / Math.PI);
    }
}

/// <summary>
/// What a PV system can give under a clear sky, as a fraction of its rated power: the simulator's PV follows it and the
/// <c>solar_drop</c> alert compares production with it, so the two agree on what "expected" means.
/// </summary>
public static class ClearSky
{
    /// <summary>0 at night, about 0.88 with the sun overhead (inverter and temperature losses included).</summary>
    public static double Fraction(DateTimeOffset time, double latitude, double longitude)
    {
        var elevation = SolarPosition.ElevationDegrees(time, latitude, longitude);
        return elevation <= 0 ? 0 : 0.88 * Math.Pow(Math.Sin(elevation * Math.PI / 180), 1.15);
    }
}
