using Microsoft.Extensions.FileProviders;

namespace PhantomMl.Silo.Extensions;

/// <summary>
/// The web dashboard at <c>/ui</c>: static files packaged at build time from <c>src/Silo/ui</c> (see its build.mjs) into
/// the silo's output folder. Everything it shows comes from the API with the API key the user signs in with, so serving
/// the files needs no authentication; a strict Content-Security-Policy lets the pages load nothing but this origin's
/// files and talk to nothing but this origin's API.
/// </summary>
public static class WebDashboardExtensions
{
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; " +
        "frame-ancestors 'none'";

    /// <summary>Serves <c>/ui</c> from the packaged dashboard, or answers 503 when the silo was built without it.</summary>
    public static WebApplication MapPhantomWebDashboard(this WebApplication app)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "ui");
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/ui"), ui =>
        {
            ui.Use(async (context, next) =>
            {
                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
                headers.CacheControl = "no-cache"; // revalidated by ETag: a new build is seen at once
                if (context.Request.Path.Value == "/ui")
                {
                    context.Response.Redirect("/ui/"); // relative URLs of the page resolve under /ui/
                    return;
                }

                await next(context);
            });
            if (!Directory.Exists(folder))
            {
                ui.Run(context => Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Dashboard not built",
                    detail: "This silo was built without the web dashboard (src/Silo/ui needs Node.js and npm at build time).").ExecuteAsync(context));
                return;
            }

            var files = new PhysicalFileProvider(folder);
            ui.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files, RequestPath = "/ui" });
            ui.UseStaticFiles(new StaticFileOptions { FileProvider = files, RequestPath = "/ui" });
        });
        return app;
    }
}
