global using System.Net;
global using Discovery;
global using Discovery.Testing;
global using Microsoft.Extensions.DependencyInjection;
