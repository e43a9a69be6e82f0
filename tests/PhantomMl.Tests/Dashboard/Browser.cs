using Microsoft.Playwright;

namespace PhantomMl.Tests.Dashboard;

/// <summary>
/// Debian's Chromium, headless, driven by Playwright: never a browser downloaded at run time (scripts/setup.sh installs
/// the chromium package; PHANTOM_CHROMIUM names another binary). Screenshots go to the test results folder.
/// </summary>
public sealed class Browser : IAsyncDisposable
{
    private readonly IPlaywright _playwright;

    private Browser(IPlaywright playwright, IBrowser chromium) => (_playwright, Chromium) = (playwright, chromium);

    public IBrowser Chromium { get; }

    /// <summary>Where screenshots are kept: PHANTOM_SCREENSHOTS (scripts/test.sh sets it in its results folder), else ./TestResults.</summary>
    public static string ScreenshotFolder =>
        Environment.GetEnvironmentVariable("PHANTOM_SCREENSHOTS") is { Length: > 0 } folder ? folder : Path.Combine("TestResults", "screenshots");

    public static async Task<Browser> LaunchAsync()
    {
        var executable = Environment.GetEnvironmentVariable("PHANTOM_CHROMIUM") is { Length: > 0 } configured ? configured : "/usr/bin/chromium";
        Assert.True(File.Exists(executable), $"{executable} is missing: scripts/setup.sh installs Debian's chromium package");
        var playwright = await Playwright.CreateAsync();
        // The flags keep Chromium from reaching out to the network on its own (this machine's network is closed).
        var chromium = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = executable,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync"],
        });
        return new Browser(playwright, chromium);
    }

    /// <summary>A fresh page in its own context (its own session storage), 1280 × 900.</summary>
    public async Task<IPage> NewPageAsync()
    {
        var context = await Chromium.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        return await context.NewPageAsync();
    }

    /// <summary>Saves a full-page screenshot as a test artifact and returns its path.</summary>
    public static async Task<string> ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotFolder);
        var path = Path.GetFullPath(Path.Combine(ScreenshotFolder, $"{name}.png"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        await Chromium.DisposeAsync();
        _playwright.Dispose();
    }
}
