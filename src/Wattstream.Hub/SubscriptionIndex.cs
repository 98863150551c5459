namespace Wattstream.Hub;

/// <summary>
/// The hub's subscriptions as a tree of subject tokens (as NATS keeps its subscription list): the subscriptions a subject
/// reaches are found by walking its tokens, literal and <c>*</c> branches, collecting <c>&gt;</c> tails on the way, so
/// the cost follows the subject's depth and the number of matches, not the number of subscriptions. Scanning every
/// subscription per DER made the first reading of each of 10 000 DERs with 100 000 clients cost 100 000 pattern
/// matches under the publish lock. Not thread-safe: the hub uses it under its lock.
/// </summary>
internal sealed class SubscriptionIndex
{
    private readonly Node _root = new();

    public int Count { get; private set; }

    public void Add(HubSubscription subscription)
    {
        var node = _root;
        foreach (var token in subscription.Pattern.Tokens)
        {
            node = node.Child(token);
        }

        if ((subscription.Pattern.HasTail ? node.Tail ??= [] : node.Here ??= []).Add(subscription))
        {
            Count++;
        }
    }

    public bool Remove(HubSubscription subscription)
    {
        var removed = Remove(_root, subscription, 0);
        if (removed)
        {
            Count--;
        }

        return removed;
    }

    /// <summary>Every subscription in the index (for scrapes and shutdown, not the delivery path).</summary>
    public List<HubSubscription> All()
    {
        var all = new List<HubSubscription>(Count);
        CollectAll(_root, all);
        return all;
    }

    private static void CollectAll(Node node, List<HubSubscription> into)
    {
        into.AddRange(node.Here ?? []);
        into.AddRange(node.Tail ?? []);
        foreach (var child in node.Literals?.Values ?? (IEnumerable<Node>)[])
        {
            CollectAll(child, into);
        }

        if (node.Any is { } any)
        {
            CollectAll(any, into);
        }
    }

    /// <summary>Every subscription whose pattern matches <paramref name="subject"/>.</summary>
    public HubSubscription[] Match(string subject)
    {
        var matches = new List<HubSubscription>();
        Collect(_root, subject.Split('.'), 0, matches);
        return matches.Count == 0 ? [] : [.. matches];
    }

    private static void Collect(Node node, string[] tokens, int index, List<HubSubscription> into)
    {
        if (index == tokens.Length)
        {
            if (node.Here is { } here)
            {
                into.AddRange(here);
            }

            return;
        }

        if (node.Tail is { } tail)
        {
            into.AddRange(tail); // '>' takes the rest: one token or more
        }

        if (node.Literals is { } literals && literals.TryGetValue(tokens[index], out var next))
        {
            Collect(next, tokens, index + 1, into);
        }

        if (node.Any is { } any)
        {
            Collect(any, tokens, index + 1, into);
        }
    }

    // Removes and prunes the branches left empty, so patterns that come and go leave nothing behind.
    private static bool Remove(Node node, HubSubscription subscription, int index)
    {
        var tokens = subscription.Pattern.Tokens;
        if (index == tokens.Length)
        {
            return (subscription.Pattern.HasTail ? node.Tail : node.Here)?.Remove(subscription) ?? false;
        }

        var token = tokens[index];
        var child = token == "*" ? node.Any : node.Literals?.GetValueOrDefault(token);
        if (child is null || !Remove(child, subscription, index + 1))
        {
            return false;
        }

        if (child.IsEmpty)
        {
            if (token == "*")
            {
                node.Any = null;
            }
            else
            {
                node.Literals!.Remove(token);
            }
        }

        return true;
    }

    private sealed class Node
    {
        public Dictionary<string, Node>? Literals { get; private set; }

        public Node? Any { get; set; }

        /// <summary>Patterns that end here.</summary>
        public HashSet<HubSubscription>? Here { get; set; }

        /// <summary>Patterns that end here with <c>&gt;</c>.</summary>
        public HashSet<HubSubscription>? Tail { get; set; }

        public bool IsEmpty => Any is null && (Literals is null || Literals.Count == 0) && (Here is null || Here.Count == 0) && (Tail is null || Tail.Count == 0);

        public Node Child(string token)
        {
            if (token == "*")
            {
                return Any ??= new Node();
            }

            Literals ??= new Dictionary<string, Node>(StringComparer.Ordinal);
            if (!Literals.TryGetValue(token, out var child))
            {
                Literals[token] = child = new Node();
            }

            return child;
        }
    }
}
