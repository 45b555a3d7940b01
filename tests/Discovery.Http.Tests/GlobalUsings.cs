global using System.Net;
global using Discovery;
global using Discovery.Http;
global using Microsoft.AspNetCore.Http;
