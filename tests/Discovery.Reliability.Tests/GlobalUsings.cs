global using Discovery.Reliability.Tests.Infrastructure;
global using Discovery.TestSupport;
