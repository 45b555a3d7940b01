namespace Discovery.Testing;

/// <summary>
/// Authentication and authorization of the emulator: an optional required bearer token (else 401),
/// extra users identified by their own tokens, and deny/grant rules per namespace, resource and
/// verb (else 403 with the real server's message). Thread-safe; changes apply to the next request.
/// </summary>
public sealed class EmulatorAccessRules
{
    private readonly object _gate = new();
    private readonly string _defaultUser;
    private readonly List<AccessRule> _denies = [];
    private readonly List<AccessRule> _grants = [];
    private readonly Dictionary<string, string> _usersByToken = new(StringComparer.Ordinal);
    private readonly HashSet<string> _restrictedUsers = new(StringComparer.Ordinal);
    private string? _requiredBearerToken;

    internal EmulatorAccessRules(string defaultUser, string? requiredBearerToken)
    {
        _defaultUser = defaultUser;
        _requiredBearerToken = requiredBearerToken;
    }

    /// <summary>Wildcard for <see cref="Deny"/> and <see cref="Grant"/> resources and verbs.</summary>
    public const string All = "*";

    /// <summary>
    /// The token every request must carry (<c>Authorization: Bearer</c>), or null to accept any
    /// request. Tokens added with <see cref="AddUser"/> are always accepted.
    /// </summary>
    public string? RequiredBearerToken
    {
        get
        {
            lock (_gate)
            {
                return _requiredBearerToken;
            }
        }

        set
        {
            lock (_gate)
            {
                _requiredBearerToken = value;
            }
        }
    }

    /// <summary>
    /// Refuses <paramref name="verb"/> (get, list, watch, create, update, patch, delete) on
    /// <paramref name="resource"/> (plural, e.g. <c>endpointslices</c>) with 403.
    /// </summary>
    /// <param name="namespace">The namespace; null for every namespace and the cluster scope (all-namespaces requests).</param>
    /// <param name="resource">Plural resource name or <see cref="All"/>.</param>
    /// <param name="verb">Verb or <see cref="All"/>.</param>
    /// <param name="user">Only for this user; null for everyone.</param>
    public void Deny(string? @namespace, string resource, string verb, string? user = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(resource);
        ArgumentException.ThrowIfNullOrEmpty(verb);
        lock (_gate)
        {
            _denies.Add(new AccessRule(@namespace, Scope.NamespaceOrAny, resource, verb, user));
        }
    }

    /// <summary>Refuses <paramref name="verb"/> on <paramref name="resource"/> across all namespaces only (403 "... at the cluster scope").</summary>
    public void DenyAtClusterScope(string resource, string verb, string? user = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(resource);
        ArgumentException.ThrowIfNullOrEmpty(verb);
        lock (_gate)
        {
            _denies.Add(new AccessRule(null, Scope.ClusterOnly, resource, verb, user));
        }
    }

    /// <summary>
    /// Accepts <paramref name="bearerToken"/> as <paramref name="userName"/>. A restricted user may
    /// do only what <see cref="Grant"/> allows, like a service account under RBAC.
    /// </summary>
    public void AddUser(string bearerToken, string userName, bool restricted = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(bearerToken);
        ArgumentException.ThrowIfNullOrEmpty(userName);
        lock (_gate)
        {
            _usersByToken[bearerToken] = userName;
            if (restricted)
            {
                _restrictedUsers.Add(userName);
            }
            else
            {
                _restrictedUsers.Remove(userName);
            }
        }
    }

    /// <summary>Allows a restricted user the verbs on the resources, like a Role (namespace given) or ClusterRole (null).</summary>
    public void Grant(string userName, string? @namespace, IEnumerable<string> resources, IEnumerable<string> verbs)
    {
        ArgumentException.ThrowIfNullOrEmpty(userName);
        ArgumentNullException.ThrowIfNull(resources);
        ArgumentNullException.ThrowIfNull(verbs);
        var verbList = verbs.ToList();
        lock (_gate)
        {
            foreach (var resource in resources)
            {
                foreach (var verb in verbList)
                {
                    _grants.Add(new AccessRule(@namespace, Scope.NamespaceOrAny, resource, verb, userName));
                }
            }
        }
    }

    /// <summary>Removes every deny rule, grant and added user (the required token stays).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _denies.Clear();
            _grants.Clear();
            _usersByToken.Clear();
            _restrictedUsers.Clear();
        }
    }

    /// <summary>Resolves the user of a request; null means 401.</summary>
    internal string? Authenticate(string? bearerToken)
    {
        lock (_gate)
        {
            if (bearerToken is not null && _usersByToken.TryGetValue(bearerToken, out var user))
            {
                return user;
            }

            if (_requiredBearerToken is null)
            {
                return _defaultUser;
            }

            return bearerToken == _requiredBearerToken ? _defaultUser : null;
        }
    }

    /// <summary>Whether <paramref name="user"/> may do <paramref name="verb"/> on <paramref name="resource"/>; namespace null means the cluster scope.</summary>
    internal bool IsAllowed(string user, string? @namespace, string resource, string verb)
    {
        lock (_gate)
        {
            foreach (var rule in _denies)
            {
                if (rule.Matches(user, @namespace, resource, verb))
                {
                    return false;
                }
            }

            if (!_restrictedUsers.Contains(user))
            {
                return true;
            }

            foreach (var rule in _grants)
            {
                if (rule.Matches(user, @namespace, resource, verb))
                {
                    return true;
                }
            }

            return false;
        }
    }

    private enum Scope
    {
        NamespaceOrAny,
        ClusterOnly,
    }

    private sealed record AccessRule(string? Namespace, Scope Scope, string Resource, string Verb, string? User)
    {
        public bool Matches(string user, string? @namespace, string resource, string verb)
        {
            if ((User is not null && User != user) || (Resource != All && Resource != resource) || (Verb != All && Verb != verb))
            {
                return false;
            }

            return Scope == Scope.ClusterOnly ? @namespace is null : Namespace is null || Namespace == @namespace;
        }
    }
}
