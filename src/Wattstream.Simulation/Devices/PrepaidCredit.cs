namespace Wattstream.Simulation.Devices;

/// <summary>
/// A prepaid meter's credit: imported energy costs the tariff's price per kWh, and a credit that falls below the
/// threshold is topped up to the top-up amount at once (an automatic top-up), so the demo meter never runs dry.
/// </summary>
public sealed class PrepaidCredit
{
    private readonly double _topUpTo;
    private readonly double _threshold;

    public PrepaidCredit(double topUpTo, double threshold)
    {
        _topUpTo = topUpTo;
        _threshold = threshold;
        Credit = topUpTo;
    }

    /// <summary>What is left, in the tariff's currency; the top-up amount at start.</summary>
    public double Credit { get; private set; }

    /// <summary>How often the credit was topped up.</summary>
    public int TopUps { get; private set; }

    public void Charge(double importedWh, double pricePerKwh)
    {
        Credit -= importedWh / 1000 * pricePerKwh;
        if (Credit < _threshold)
        {
            Credit = _topUpTo;
            TopUps++;
        }
    }
}
