using Elastic.Clients.Elasticsearch;
using Elastic.Transport;

namespace PhantomMl.Grains.Adapters.Elasticsearch;

/// <summary>The client of <c>ConnectionStrings:Elasticsearch</c>: a URL, with <c>user:password@</c> for basic authentication.</summary>
public static class ElasticsearchConnection
{
    /// <summary>A client for <paramref name="connectionString"/>.</summary>
    public static ElasticsearchClient Client(string connectionString)
    {
        var url = new Uri(connectionString);
        var settings = new ElasticsearchClientSettings(new Uri(url.GetLeftPart(UriPartial.Path)));
        if (url.UserInfo.Split(':', 2) is [{ Length: > 0 } user, var password])
        {
            settings.Authentication(new BasicAuthentication(Uri.UnescapeDataString(user), Uri.UnescapeDataString(password)));
        }

        return new ElasticsearchClient(settings);
    }
}
