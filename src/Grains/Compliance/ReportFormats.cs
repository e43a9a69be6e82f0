using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace PhantomMl.Grains.Compliance;

/// <summary>A report as a download: JSON as stored, CSV with one line per finding, or a standalone HTML page for an auditor.</summary>
public static class ReportFormats
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>Renders <paramref name="report"/> as <paramref name="format"/> (json, csv or html).</summary>
    public static ReportExport Render(ComplianceReport report, string format)
    {
        var name = $"compliance-{report.TenantKey}-{report.Framework.ToLowerInvariant()}-{report.PeriodStart:yyyyMMdd}-{report.PeriodEnd:yyyyMMdd}";
        return format switch
        {
            "json" => new ReportExport("application/json", $"{name}.json", JsonSerializer.Serialize(report, Json)),
            "csv" => new ReportExport("text/csv; charset=utf-8", $"{name}.csv", Csv(report)),
            "html" => new ReportExport("text/html; charset=utf-8", $"{name}.html", Html(report)),
            _ => throw PhantomException.Invalid("format must be json, csv or html.", "format"),
        };
    }

    private static string Csv(ComplianceReport report)
    {
        var csv = new StringBuilder("check,title,severity,status,summary,remediation,evidence\r\n");
        var remedies = report.RemediationActions.ToDictionary(a => a.Check, a => a.Action);
        foreach (var finding in report.Findings)
        {
            csv.AppendJoin(',', new[]
            {
                finding.Check, finding.Title, finding.Severity, finding.Status, finding.Summary, remedies.GetValueOrDefault(finding.Check) ?? "",
                finding.Evidence ?? "",
            }.Select(Field)).Append("\r\n");
        }

        return csv.ToString();
    }

    // RFC 4180 quoting; a leading = + - @ is prefixed with ' so a spreadsheet does not run it as a formula.
    private static string Field(string value)
    {
        if (value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        return value.IndexOfAny([',', '"', '\r', '\n']) < 0 ? value : $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
    }

    private static string Html(ComplianceReport report)
    {
        static string E(string? text) => WebUtility.HtmlEncode(text ?? "");
        var failed = report.Findings.Count(f => f.Status == "fail");
        var resultClass = failed > 0 ? "fail" : "pass";
        var html = new StringBuilder();
        html.Append(CultureInfo.InvariantCulture, $$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{{E(report.Framework)}} compliance report: {{E(report.TenantKey)}}</title>
            <style>
            body{font-family:system-ui,sans-serif;color:#1a1a1a;margin:2rem auto;max-width:70rem;padding:0 1rem;line-height:1.45}
            table{border-collapse:collapse;width:100%;margin:1rem 0}
            th,td{border:1px solid #999;padding:.4rem .6rem;text-align:left;vertical-align:top}
            th{background:#e8e8e8} .pass{color:#0b5d1e;font-weight:600} .fail{color:#a30000;font-weight:600}
            .unknown{color:#6b4e00;font-weight:600} pre{white-space:pre-wrap;word-break:break-word;font-size:.85em;margin:0}
            @media print{ body{margin:0} }
            </style></head><body>
            <h1>{{E(report.Framework)}} compliance report</h1>
            <table aria-label="Report facts"><tbody>
            <tr><th scope="row">Tenant</th><td>{{E(report.TenantKey)}}</td></tr>
            <tr><th scope="row">Period</th><td>{{report.PeriodStart:u}} to {{report.PeriodEnd:u}}</td></tr>
            <tr><th scope="row">Result</th>
            <td class="{{resultClass}}">{{E(report.Status.Replace('_', ' '))}}: {{failed}} of {{report.Findings.Count}} checks failed</td></tr>
            <tr><th scope="row">Generated</th><td>{{report.GeneratedAt:u}} by {{E(report.GeneratedBy)}} (report {{report.Id}})</td></tr>
            </tbody></table>
            <h2>Findings</h2>
            <table><thead><tr><th scope="col">Check</th><th scope="col">Status</th><th scope="col">Severity</th><th scope="col">Finding</th>
            <th scope="col">Evidence</th></tr></thead><tbody>
            """);
        foreach (var finding in report.Findings)
        {
            html.Append(CultureInfo.InvariantCulture, $"""
                <tr><td>{E(finding.Title)}<br><small>{E(finding.Check)}</small></td><td class="{E(finding.Status)}">{E(finding.Status)}</td>
                <td>{E(finding.Severity)}</td><td>{E(finding.Summary)}</td><td><pre>{E(Pretty(finding.Evidence))}</pre></td></tr>

                """);
        }

        html.Append("</tbody></table>\n<h2>Remediation</h2>\n");
        if (report.RemediationActions.Count == 0)
        {
            html.Append("<p>Nothing to remediate: every check passed or could not be decided.</p>\n");
        }
        else
        {
            html.Append("<ol>\n");
            foreach (var action in report.RemediationActions)
            {
                html.Append(CultureInfo.InvariantCulture,
                    $"<li><strong>{E(action.Priority)}</strong> ({E(action.Check)}): {E(action.Action)}</li>\n");
            }

            html.Append("</ol>\n");
        }

        html.Append("<p><small>Generated by Phantom ML Core from the tenant's records; the audit chain check is the platform's own " +
                    "verification of its hash chain and signed digests (docs/audit.md).</small></p>\n</body></html>\n");
        return html.ToString();
    }

    private static string Pretty(string? json)
    {
        if (json is null)
        {
            return "";
        }

        using var document = JsonDocument.Parse(json);
        return JsonSerializer.Serialize(document.RootElement, Json);
    }
}
