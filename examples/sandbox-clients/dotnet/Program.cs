// ASP.NET Core 8 with Microsoft.AspNetCore.Authentication.OpenIdConnect, against `careid sandbox`.
// Not tested here: this machine has no .NET SDK (see ../README.md). Add
// http://localhost:5000/signin-oidc to the example client's redirect_uris in
// careid-sandbox/personas.json and save.
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;

var builder = WebApplication.CreateBuilder(args);
builder.Services
    .AddAuthentication(options =>
    {
        options.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
        options.DefaultChallengeScheme = OpenIdConnectDefaults.AuthenticationScheme;
    })
    .AddCookie()
    .AddOpenIdConnect(options =>
    {
        options.Authority = "http://localhost:3000/sandbox/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare";
        // The sandbox is plain HTTP on this machine; a real CIS2 issuer is https.
        options.RequireHttpsMetadata = false;
        options.ClientId = "sandbox-example.apps.local";
        options.ClientSecret = "sandbox-example-secret-never-used-outside-the-sandbox";
        options.ResponseType = "code";
        options.UsePkce = true;
        options.GetClaimsFromUserInfoEndpoint = true;
        // CIS2 takes the secret in the body (client_secret_post), as this handler sends it.
        foreach (var scope in new[] { "profile", "email", "nhsperson", "nationalrbacaccess", "associatedorgs", "selectedrole" })
            options.Scope.Add(scope);
        options.MapInboundClaims = false;
        options.TokenValidationParameters.NameClaimType = "name";
        options.Events.OnRedirectToIdentityProvider = context =>
        {
            context.ProtocolMessage.AcrValues = "AAL2_OR_AAL3_ANY";
            return Task.CompletedTask;
        };
    });
builder.Services.AddAuthorization();

var app = builder.Build();
app.UseAuthentication();
app.UseAuthorization();
app.MapGet("/", (HttpContext context) => context.User.Claims.Select(claim => new { claim.Type, claim.Value }))
    .RequireAuthorization();
app.Run("http://localhost:5000");
