namespace PhantomMl.Silo.Apis.Mlflow;

/// <summary>
/// One MLflow call that makes several changes (log-batch: params, tags, a new name; a retried registration): each change
/// gets its own request id, derived from the call's, so the audit trail does not take the second for a replay of the first.
/// A client's retry of the whole call derives the same ids and is answered as a replay.
/// </summary>
public static class MlflowCalls
{
    private const string OriginalRequestId = "mlflow.request-id";

    /// <summary>Makes the next grain calls of this request part <paramref name="part"/> of it.</summary>
    public static void Part(HttpContext http, string part)
    {
        if (http.Items[OriginalRequestId] is not string original)
        {
            original = RequestContext.Get(PhantomMl.Grains.Security.CallContext.RequestId) as string ?? Guid.CreateVersion7().ToString();
            http.Items[OriginalRequestId] = original;
        }

        RequestContext.Set(PhantomMl.Grains.Security.CallContext.RequestId, $"{original}:{part}");
    }
}
