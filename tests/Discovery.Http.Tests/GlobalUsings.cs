global using System.Net;
global using Discovery;
global using Discovery.Http;
global using Discovery.Testing;
global using Discovery.TestSupport;
global using Microsoft.AspNetCore.Http;

// The shared harness under the names these tests give it: a backend is a loopback pod, and Ports.Refusing() hands out
// a loopback address and port where nothing listens.
global using Backend = Discovery.TestSupport.LoopbackPod;
global using Ports = Discovery.TestSupport.LoopbackAddresses;
