using System.Security.Cryptography;
using System.Text;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Security;
using PhantomMl.Grains.Tenants;

namespace PhantomMl.Grains.Models;

/// <summary>
/// A version's artifact: admitting an upload (a ticket the server keeps), recording what a silo measured, reading,
/// verifying and linking the stored object. Nothing a client sends about an upload is trusted: the object key, the size
/// and the owner come from the ticket, the size and SHA-256 from the silo that streamed the bytes.
/// </summary>
public sealed partial class ModelGrain
{
    /// <summary>How long an upload ticket may be used (shorter than the orphan sweep's grace).</summary>
    public static readonly TimeSpan UploadTicketLifetime = TimeSpan.FromHours(12);

    /// <inheritdoc />
    public async Task<ArtifactUploadTicket> PrepareArtifactUploadAsync(string versionOrAlias, long sizeBytes)
    {
        var audit = Event("prepare-artifact-upload", Details: new { version = versionOrAlias, sizeBytes });
        var caller = await AuthorizeAsync(Permissions.ModelsWrite, audit);
        var model = Model;
        var limits = await QuotaLimitsAsync();
        // The same request retried (by the SDK, after a lost answer) names the same ticket.
        var uploadId = new Guid(SHA256.HashData(Encoding.UTF8.GetBytes($"upload:{_tenantId:N}:{caller.UserId}:{caller.Client.RequestId}")).AsSpan(0,
            16));
        var ticket = await changes.ApplyAsync(caller, _tenantId, audit, async (connection, transaction) =>
        {
            if (sizeBytes <= 0)
            {
                throw PhantomException.Invalid("An artifact has at least one byte.", "Content-Length");
            }

            if (sizeBytes > limits[Quotas.ModelFileBytes])
            {
                throw PhantomException.TooLarge($"An artifact of this tenant is at most {limits[Quotas.ModelFileBytes]} bytes (quota " +
                    $"{Quotas.ModelFileBytes}).", Quotas.ModelFileBytes);
            }

            var version = Resolve(await modelSql.ListVersionsAsync(connection, transaction, model.Id), versionOrAlias);
            if (await modelSql.FindAsync(connection, transaction, version.Id) is not null)
            {
                throw PhantomException.Conflict($"Version '{version.Version}' has its artifact already; register a new version for a new artifact.");
            }

            // A new ticket replaces an unfinished one for the same version; its bytes are reserved until it completes or expires.
            var now = time.GetUtcNow();
            await modelSql.DeleteUploadsOfVersionAsync(transaction, version.Id);
            var stored = (await tenantSql.ReadUsageAsync(connection, transaction, now))[Quotas.ArtifactBytes];
            var reserved = await modelSql.ReservedBytesAsync(transaction, now);
            if (stored + reserved + sizeBytes > limits[Quotas.ArtifactBytes])
            {
                throw PhantomException.QuotaExceeded(Quotas.ArtifactBytes, limits[Quotas.ArtifactBytes], stored + reserved, sizeBytes);
            }

            var issued = new ArtifactUploadTicket(uploadId, version.Version, ArtifactKeys.For(_tenantId, model.Id, version.Id), sizeBytes,
                now + UploadTicketLifetime, caller.KeyId == Guid.Empty ? null : caller.KeyId);
            await modelSql.InsertUploadAsync(transaction, model.Id, version.Id, issued, caller.UserId);
            return issued;
        }, replay: () => FindUploadAsync(uploadId), eventIdSuffix: ":prepare-upload"); // an HTTP upload completes under the same request id
        return ticket with { ApiKeyId = null }; // who owns it is the server's business
    }

    /// <inheritdoc />
    public async Task<ArtifactUploadTicket> GetArtifactUploadAsync(Guid uploadId)
    {
        await AuthorizeAsync(Permissions.ModelsWrite, Event("read"));
        return await FindUploadAsync(uploadId);
    }

    /// <inheritdoc />
    public async Task<ArtifactView> CompleteArtifactUploadAsync(Guid uploadId, long measuredBytes, string measuredSha256, string? expectedSha256)
    {
        var audit = Event("upload-artifact", Details: new { upload = uploadId, sizeBytes = measuredBytes, sha256 = measuredSha256 });
        var caller = await AuthorizeAsync(Permissions.ModelsWrite, audit);
        var model = Model;
        var limits = await QuotaLimitsAsync();
        var ticket = await FindUploadAsync(uploadId); // 404 for a ticket this model did not issue: nothing of anyone's is touched
        try
        {
            await InvalidateCacheAsync();
            return await changes.ApplyAsync(caller, _tenantId, audit, async (connection, transaction) =>
            {
                if (measuredBytes != ticket.SizeBytes)
                {
                    throw PhantomException.Invalid($"The upload announced {ticket.SizeBytes} bytes but {measuredBytes} arrived; nothing was stored.",
                        "Content-Length");
                }

                if (expectedSha256 is not null && !string.Equals(expectedSha256, measuredSha256, StringComparison.OrdinalIgnoreCase))
                {
                    throw PhantomException.Invalid($"The artifact's SHA-256 is {measuredSha256}, not the {BoundedText.Shown(expectedSha256)} the " +
                        $"client sent; nothing was stored.", "X-Content-Sha256");
                }

                var row = await modelSql.FindUploadAsync(transaction, uploadId, time.GetUtcNow())
                    ?? throw PhantomException.NotFound("upload", uploadId.ToString());
                if (await modelSql.FindAsync(connection, transaction, row.VersionId) is not null)
                {
                    throw PhantomException.Conflict($"Version '{ticket.Version}' has its artifact already.");
                }

                await modelSql.DeleteUploadAsync(transaction, uploadId);
                await tenantSql.ConsumeAsync(connection, transaction, _tenantId, Quotas.ArtifactBytes, measuredBytes, limits[Quotas.ArtifactBytes],
                    time.GetUtcNow());
                await modelSql.InsertAsync(connection, transaction, model, row.VersionId, measuredBytes, measuredSha256.ToLowerInvariant(),
                    artifacts, row.Ticket.ObjectKey);
                await BumpAsync(connection, transaction, model);
                return (await modelSql.FindAsync(connection, transaction, row.VersionId))!;
            });
        }
        catch
        {
            // Whatever refused it, the uploaded object and its ticket must not outlive the refusal.
            await ForgetUploadAsync(uploadId, ticket.ObjectKey);
            throw;
        }
        finally
        {
            await ReloadAsync();
        }
    }

    /// <inheritdoc />
    public async Task AbandonArtifactUploadAsync(Guid uploadId)
    {
        await AuthorizeAsync(Permissions.ModelsWrite, Event("abandon-artifact-upload", Details: new { upload = uploadId }));
        var ticket = await FindUploadAsync(uploadId);
        await ForgetUploadAsync(uploadId, ticket.ObjectKey);
    }

    /// <inheritdoc />
    public async Task<ArtifactView> GetArtifactAsync(string versionOrAlias)
    {
        await AuthorizeAsync(Permissions.ModelsRead, Event("read"));
        return await FindArtifactAsync(versionOrAlias);
    }

    /// <inheritdoc />
    public async Task<ArtifactVerification> VerifyArtifactAsync(string versionOrAlias)
    {
        var audit = Event("verify-artifact", Details: new { version = versionOrAlias });
        var caller = await AuthorizeAsync(Permissions.ModelsRead, audit);
        var artifact = await FindArtifactAsync(versionOrAlias);
        ArtifactVerification result;
        try
        {
            await using var content = await artifacts.OpenReadAsync(artifact.StoragePath, 0, null, CancellationToken.None);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[1 << 16];
            long size = 0;
            int read;
            while ((read = await content.ReadAsync(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                size += read;
            }

            var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            var intact = actual == artifact.Sha256 && size == artifact.SizeBytes;
            result = new ArtifactVerification(intact, artifact.Sha256, actual, size,
                intact ? null : "The stored bytes differ from what was uploaded.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            result = new ArtifactVerification(false, artifact.Sha256, null, null, $"The stored object cannot be read: {e.Message}");
        }

        await auditSql.RecordAloneAsync(_tenantId, caller.UserId, caller.Client,
            audit.As(result.Intact ? AuditEvent.Success : AuditEvent.Failure, result));
        return result;
    }

    /// <inheritdoc />
    public async Task<Uri?> GetArtifactUrlAsync(string versionOrAlias, TimeSpan validFor)
    {
        await AuthorizeAsync(Permissions.ModelsRead, Event("read"));
        if (validFor <= TimeSpan.Zero || validFor > TimeSpan.FromDays(7))
        {
            throw PhantomException.Invalid("A download URL is valid for 1 second to 7 days.", "expiresIn");
        }

        var artifact = await FindArtifactAsync(versionOrAlias);
        return await artifacts.GetDownloadUrlAsync(artifact.StoragePath, validFor, CancellationToken.None);
    }

    private async Task<ArtifactView> FindArtifactAsync(string versionOrAlias)
    {
        var model = Model;
        return await database.InTenantAsync(_tenantId, async (connection, transaction) =>
        {
            var version = Resolve(await modelSql.ListVersionsAsync(connection, transaction, model.Id), versionOrAlias);
            return await modelSql.FindAsync(connection, transaction, version.Id) ?? throw PhantomException.NotFound("artifact of version",
                version.Version);
        });
    }

    /// <summary>An unexpired ticket of this model; 404 for anything else (another model's, another tenant's, an expired one).</summary>
    private async Task<ArtifactUploadTicket> FindUploadAsync(Guid uploadId)
    {
        var model = Model;
        var row = await database.InTenantAsync(_tenantId, (_, transaction) => modelSql.FindUploadAsync(transaction, uploadId, time.GetUtcNow()));
        return row is not null && row.ModelId == model.Id ? row.Ticket : throw PhantomException.NotFound("upload", uploadId.ToString());
    }

    /// <summary>Deletes a ticket and its object (the reservation goes with the ticket).</summary>
    private async Task ForgetUploadAsync(Guid uploadId, string objectKey)
    {
        await database.InTenantAsync(_tenantId, async (_, transaction) =>
        {
            await modelSql.DeleteUploadAsync(transaction, uploadId);
            return true;
        });
        await DeleteObjectQuietlyAsync(objectKey);
    }
}
