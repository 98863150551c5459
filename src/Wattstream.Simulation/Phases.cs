namespace Wattstream.Simulation;

/// <summary>A value per phase (L1, L2, L3).</summary>
public readonly record struct Phases(double L1, double L2, double L3)
{
    public double Total => L1 + L2 + L3;

    public static Phases Balanced(double total) => new(total / 3, total / 3, total / 3);

    public static Phases operator +(Phases a, Phases b) => new(a.L1 + b.L1, a.L2 + b.L2, a.L3 + b.L3);

    public static Phases operator -(Phases a, Phases b) => new(a.L1 - b.L1, a.L2 - b.L2, a.L3 - b.L3);

    public static Phases operator *(Phases a, double k) => new(a.L1 * k, a.L2 * k, a.L3 * k);

    public double this[int phase] => phase switch { 0 => L1, 1 => L2, 2 => L3, _ => throw new ArgumentOutOfRangeException(nameof(phase)) };
}
