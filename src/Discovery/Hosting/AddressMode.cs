namespace Discovery;

/// <summary>Which address of an endpoint discovery connects to.</summary>
public enum AddressMode
{
    /// <summary>In a cluster: <see cref="PodIP"/>. Outside: <see cref="LoadBalancer"/> ingress if the Service has one, else <see cref="NodePort"/>.</summary>
    Auto,

    /// <summary>The pod IPs from the endpoint set (the in-cluster default).</summary>
    PodIP,

    /// <summary>The Service's node port on the address of the node each endpoint runs on.</summary>
    NodePort,

    /// <summary>The Service's load balancer ingress address and Service port.</summary>
    LoadBalancer,
}
