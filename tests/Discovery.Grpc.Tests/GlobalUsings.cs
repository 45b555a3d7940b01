global using Discovery.Grpc.Tests.Protos;
global using Grpc.Core;
global using Grpc.Net.Client;
global using Grpc.Net.Client.Configuration;
global using Discovery.Http;
global using Discovery.TestSupport;
