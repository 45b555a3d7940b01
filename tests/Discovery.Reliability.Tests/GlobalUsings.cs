global using Discovery.Reliability.Tests.Infrastructure;
