global using System.Net;
global using Discovery;
global using Discovery.Testing;
global using Discovery.TestSupport;
global using Microsoft.Extensions.DependencyInjection;

// The shared loopback pod keeps the name these tests give it.
global using Pod = Discovery.TestSupport.LoopbackPod;
