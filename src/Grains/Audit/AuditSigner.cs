using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace PhantomMl.Grains.Audit;

/// <summary>
/// Signs digests with the active key and checks them with whichever key signed them. ECDSA P-256 over SHA-256 with
/// DER signatures, so <c>openssl dgst -sha256 -verify public.pem -signature digest.sig digest.json</c> checks one offline.
/// Every key is loaded at start-up: a key that cannot be read stops the silo rather than a digest later.
/// </summary>
public sealed class AuditSigner : IDisposable
{
    private readonly Dictionary<string, ECDsa> _keys = new(StringComparer.Ordinal);

    public AuditSigner(IOptions<AuditOptions> options)
    {
        foreach (var key in options.Value.SigningKeys)
        {
            _keys[key.Id] = Load(key);
        }

        ActiveKeyId = options.Value.ActiveKeyId ?? options.Value.SigningKeys.LastOrDefault()?.Id
            ?? throw new OptionsValidationException(AuditOptions.SectionName, typeof(AuditOptions), ["No audit signing key is configured."]);
        if (!_keys.ContainsKey(ActiveKeyId))
        {
            throw new OptionsValidationException(AuditOptions.SectionName, typeof(AuditOptions),
                [$"ActiveKeyId '{ActiveKeyId}' is not one of the signing keys."]);
        }
    }

    /// <summary>The key that signs new digests.</summary>
    public string ActiveKeyId { get; }

    /// <summary>Signs <paramref name="document"/> with the active key.</summary>
    public byte[] Sign(byte[] document) =>
        _keys[ActiveKeyId].SignData(document, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);

    /// <summary>Whether <paramref name="signature"/> over <paramref name="document"/> was made by key <paramref name="keyId"/>.</summary>
    public bool Verify(string keyId, byte[] document, byte[] signature) =>
        _keys.TryGetValue(keyId, out var key) && key.VerifyData(document, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);

    /// <summary>The public half of key <paramref name="keyId"/> as PEM (SubjectPublicKeyInfo), or null for an unknown key.</summary>
    public string? PublicKeyPem(string keyId) => _keys.TryGetValue(keyId, out var key) ? key.ExportSubjectPublicKeyInfoPem() : null;

    /// <summary>Every key id and its public PEM.</summary>
    public IReadOnlyDictionary<string, string> PublicKeys() => _keys.ToDictionary(k => k.Key, k => k.Value.ExportSubjectPublicKeyInfoPem());

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var key in _keys.Values)
        {
            key.Dispose();
        }
    }

    private static ECDsa Load(AuditSigningKey key)
    {
        var pem = key switch
        {
            { PrivateKeyPem: { Length: > 0 } inline, PrivateKeyFile: null or "" } => inline,
            { PrivateKeyFile: { Length: > 0 } file, PrivateKeyPem: null or "" } => File.ReadAllText(file),
            _ => throw Invalid(key, "set exactly one of PrivateKeyPem and PrivateKeyFile"),
        };
        var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportFromPem(pem);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            ecdsa.Dispose();
            throw Invalid(key, $"the key is not a PEM EC private key ({e.Message})");
        }

        if (ecdsa.KeySize != 256)
        {
            ecdsa.Dispose();
            throw Invalid(key, "the key must be on curve P-256");
        }

        return ecdsa;
    }

    private static OptionsValidationException Invalid(AuditSigningKey key, string why) =>
        new(AuditOptions.SectionName, typeof(AuditOptions), [$"Audit signing key '{key.Id}': {why}."]);
}
