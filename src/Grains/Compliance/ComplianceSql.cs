using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Audit;

namespace PhantomMl.Grains.Compliance;

/// <summary>
/// The SQL of compliance reports (compliance_reports) and GDPR requests (privacy_requests, migration 0019): storing
/// and reading them, what an access export reads about a user, and what an erasure changes.
/// </summary>
public sealed class ComplianceSql
{
    /// <summary>Tenant tables whose <c>created_by</c> names a user: exported on access, pseudonymized on erasure.</summary>
    public static readonly IReadOnlyList<string> CreatedByTables =
    [
        "models", "model_versions", "training_jobs", "inference_batches", "inference_jobs", "agents", "agent_executions", "agent_workflows",
        "agent_workflow_runs", "agent_webhook_hosts", "artifact_uploads", "data_lineage", "api_keys",
    ];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private const string ReportColumns = """
        id, framework, report_type, period_start, period_end, status, findings::text, remediation_actions::text, generated_at, generated_by
        """;

    private const string RequestColumns = "id, kind, subject_ref, status, requested_at, completed_at, requested_by, details::text";

    // ---- Reports ------------------------------------------------------------------------------------------------

    /// <summary>Stores a generated report.</summary>
    public async Task InsertReportAsync(NpgsqlTransaction transaction, ComplianceReport report)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, """
            INSERT INTO compliance_reports (id, tenant_id, framework, report_type, period_start, period_end, status, findings,
                                            remediation_actions, generated_at, generated_by)
            VALUES (@id, @tenant, @framework, @type, @start, @end, @status, @findings, @remediation, @at, @by)
            """);
        command.Parameters.AddWithValue("id", report.Id);
        command.Parameters.AddWithValue("framework", report.Framework);
        command.Parameters.AddWithValue("type", report.ReportType);
        command.Parameters.AddWithValue("start", report.PeriodStart);
        command.Parameters.AddWithValue("end", report.PeriodEnd);
        command.Parameters.AddWithValue("status", report.Status);
        command.Parameters.Add(new NpgsqlParameter("findings", NpgsqlDbType.Jsonb) { Value = JsonSerializer.Serialize(report.Findings, Json) });
        command.Parameters.Add(new NpgsqlParameter("remediation", NpgsqlDbType.Jsonb)
        {
            Value = JsonSerializer.Serialize(report.RemediationActions, Json),
        });
        command.Parameters.AddWithValue("at", report.GeneratedAt);
        command.Parameters.AddWithValue("by", report.GeneratedBy);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The tenant's reports, newest first, or the one with <paramref name="id"/>.</summary>
    public async Task<List<ComplianceReport>> ReadReportsAsync(NpgsqlTransaction transaction, string tenantKey, int limit, Guid? id = null)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            SELECT {ReportColumns} FROM compliance_reports
             WHERE tenant_id = @tenant AND (@id::uuid IS NULL OR id = @id)
             ORDER BY generated_at DESC, id LIMIT @limit
            """);
        command.AddOptional("id", NpgsqlDbType.Uuid, id);
        command.Parameters.AddWithValue("limit", limit);
        var reports = new List<ComplianceReport>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            reports.Add(new ComplianceReport(reader.GetGuid(0), tenantKey, reader.GetString(1), reader.GetString(2),
                reader.GetFieldValue<DateTimeOffset>(3), reader.GetFieldValue<DateTimeOffset>(4), reader.GetString(5),
                reader.IsDBNull(6) ? [] : JsonSerializer.Deserialize<List<ComplianceFinding>>(reader.GetString(6), Json)!,
                reader.IsDBNull(7) ? [] : JsonSerializer.Deserialize<List<RemediationAction>>(reader.GetString(7), Json)!,
                reader.GetFieldValue<DateTimeOffset>(8), reader.GetString(9)));
        }

        return reports;
    }

    // ---- Privacy requests ---------------------------------------------------------------------------------------

    /// <summary>Records a request as received.</summary>
    public async Task<PrivacyRequestView> InsertRequestAsync(NpgsqlTransaction transaction, Guid id, string kind, string subject, string requestedBy)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            INSERT INTO privacy_requests (id, tenant_id, kind, subject_ref, requested_by) VALUES (@id, @tenant, @kind, @subject, @by)
            RETURNING {RequestColumns}
            """);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("kind", kind);
        command.Parameters.AddWithValue("subject", subject);
        command.Parameters.AddWithValue("by", requestedBy);
        return (await ReadRequestsAsync(command)).Single();
    }

    /// <summary>Marks a request completed (or failed) with what it did; an erasure's subject becomes its pseudonym.</summary>
    public async Task<PrivacyRequestView> FinishRequestAsync(NpgsqlTransaction transaction, Guid id, string status, string subject, object details)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            UPDATE privacy_requests SET status = @status, subject_ref = @subject, completed_at = now(), details = @details
             WHERE tenant_id = @tenant AND id = @id
            RETURNING {RequestColumns}
            """);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("status", status);
        command.Parameters.AddWithValue("subject", subject);
        command.Parameters.Add(new NpgsqlParameter("details", NpgsqlDbType.Jsonb) { Value = JsonSerializer.Serialize(details, Json) });
        return (await ReadRequestsAsync(command)).Single();
    }

    /// <summary>The tenant's privacy requests, newest first.</summary>
    public async Task<List<PrivacyRequestView>> ListRequestsAsync(NpgsqlTransaction transaction, int limit)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            $"SELECT {RequestColumns} FROM privacy_requests WHERE tenant_id = @tenant ORDER BY requested_at DESC, id LIMIT @limit");
        command.Parameters.AddWithValue("limit", limit);
        return await ReadRequestsAsync(command);
    }

    // ---- Access -------------------------------------------------------------------------------------------------

    /// <summary>The user's row as JSON, or null when the tenant has no such user.</summary>
    public static async Task<string?> UserAsync(NpgsqlTransaction transaction, string userId)
    {
        await using var command = TenantDatabase.TenantCommand(transaction,
            "SELECT to_jsonb(u)::text FROM tenant_users u WHERE tenant_id = @tenant AND user_id = @user");
        command.Parameters.AddWithValue("user", userId);
        return await command.ExecuteScalarAsync() as string;
    }

    /// <summary>
    /// Rows of <paramref name="table"/> as JSON lines, at most <paramref name="limit"/>: the user's API keys (without
    /// their secret hashes) for <c>api_keys</c>, the addresses they were seen from for <c>audit_user_addresses</c>, else
    /// what the user created.
    /// </summary>
    public static async Task<List<string>> RowsAsync(NpgsqlTransaction transaction, string table, string userId, int limit)
    {
        var sql = table == "api_keys"
            ? """
              SELECT (to_jsonb(k) - 'secret_hash')::text FROM api_keys k JOIN tenant_users u ON u.tenant_id = k.tenant_id AND u.id = k.tenant_user_id
               WHERE k.tenant_id = @tenant AND (u.user_id = @user OR k.created_by = @user) LIMIT @limit
              """
            : table == "audit_user_addresses"
                ? "SELECT to_jsonb(a)::text FROM audit_user_addresses a WHERE tenant_id = @tenant AND user_id = @user LIMIT @limit"
                : $"SELECT to_jsonb(t)::text FROM {table} t WHERE tenant_id = @tenant AND created_by = @user LIMIT @limit";
        await using var command = TenantDatabase.TenantCommand(transaction, sql);
        command.Parameters.AddWithValue("user", userId);
        command.Parameters.AddWithValue("limit", limit);
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }

    /// <summary>Audit rows the user made (<paramref name="byUser"/>) or that are about the user, oldest first.</summary>
    public static async Task<List<AuditEntry>> AuditRowsAsync(NpgsqlTransaction transaction, string userId, bool byUser, int limit)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, $"""
            SELECT {AuditSql.Columns("")} FROM audit_logs
             WHERE tenant_id = @tenant AND {(byUser
                 ? "user_id = @user"
                 : "user_id <> @user AND ((resource_type = ANY (@userTypes) AND resource_id = @user) " +
                   "OR details ->> 'userId' = @user OR details ->> 'user' = @user)")}
             ORDER BY "timestamp", id LIMIT @limit
            """);
        command.Parameters.AddWithValue("user", userId);
        command.Parameters.AddWithValue("userTypes", AuditChainFormat.UserResourceTypes.ToArray());
        command.Parameters.AddWithValue("limit", limit);
        return await AuditSql.ReadEntriesAsync(command);
    }

    // ---- Erasure ------------------------------------------------------------------------------------------------

    /// <summary>
    /// Erases the subject of the open erasure request <paramref name="requestId"/> everywhere in the tenant: audit rows
    /// (the owner's function, see migration 0019), the user's row and keys, <c>created_by</c> of what they made, the
    /// privacy requests naming them and the reports listing them. Returns what changed, by table, and the models whose
    /// <c>created_by</c> changed (their grains and cache entries hold the old value).
    /// </summary>
    public async Task<(Dictionary<string, long> Changed, List<string> Models)> EraseAsync(NpgsqlTransaction transaction, Guid requestId,
        string userId)
    {
        var pseudonym = AuditChainFormat.Pseudonym(requestId);
        var changed = new Dictionary<string, long>();
        var models = new List<string>();
        await using (var created = TenantDatabase.TenantCommand(transaction,
                         "SELECT name FROM models WHERE tenant_id = @tenant AND created_by = @user"))
        {
            created.Parameters.AddWithValue("user", userId);
            await using var reader = await created.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                models.Add(reader.GetString(0));
            }
        }

        await using (var audit = TenantDatabase.TenantCommand(transaction,
                         "SELECT actor_rows, subject_rows, kept_v1_rows FROM phantom_erase_audit_subject(@request, @keys)"))
        {
            audit.Parameters.AddWithValue("request", requestId);
            audit.Parameters.AddWithValue("keys", AuditChainFormat.PersonalDetailKeys.ToArray());
            await using var reader = await audit.ExecuteReaderAsync();
            await reader.ReadAsync();
            (changed["audit_logs (actor)"], changed["audit_logs (subject)"]) = (reader.GetInt64(0), reader.GetInt64(1));
            changed["audit_logs (kept: sealed in format v1)"] = reader.GetInt64(2);
        }

        changed["api_keys (revoked)"] = await ExecuteAsync(transaction, """
            UPDATE api_keys k SET revoked_at = coalesce(k.revoked_at, now()), name = 'erased'
              FROM tenant_users u WHERE u.tenant_id = k.tenant_id AND u.id = k.tenant_user_id AND k.tenant_id = @tenant AND u.user_id = @user
            """, userId, pseudonym);
        foreach (var table in CreatedByTables)
        {
            changed[table] = await ExecuteAsync(transaction,
                $"UPDATE {table} SET created_by = @pseudonym WHERE tenant_id = @tenant AND created_by = @user", userId, pseudonym);
        }

        changed["privacy_requests"] = await ExecuteAsync(transaction, """
            UPDATE privacy_requests SET subject_ref = CASE WHEN subject_ref = @user THEN @pseudonym ELSE subject_ref END,
                   requested_by = CASE WHEN requested_by = @user THEN @pseudonym ELSE requested_by END
             WHERE tenant_id = @tenant AND (subject_ref = @user OR requested_by = @user)
            """, userId, pseudonym);
        // Reports list users by id in their evidence (admins without MFA, old keys): the id, as a JSON string, is replaced.
        changed["compliance_reports"] = await ExecuteAsync(transaction, """
            UPDATE compliance_reports
               SET findings = replace(findings::text, to_jsonb(@user::text)::text, to_jsonb(@pseudonym::text)::text)::jsonb,
                   generated_by = CASE WHEN generated_by = @user THEN @pseudonym ELSE generated_by END
             WHERE tenant_id = @tenant AND (generated_by = @user OR strpos(findings::text, to_jsonb(@user::text)::text) > 0)
            """, userId, pseudonym);
        changed["audit_user_addresses"] = await ExecuteAsync(transaction,
            "DELETE FROM audit_user_addresses WHERE tenant_id = @tenant AND user_id IN (@user, @pseudonym)", userId, pseudonym);
        changed["tenant_users"] = await ExecuteAsync(transaction, """
            UPDATE tenant_users SET user_id = @pseudonym, email = @pseudonym || '@erased.invalid', status = 'disabled', permissions = NULL,
                   last_login_at = NULL
             WHERE tenant_id = @tenant AND user_id = @user
            """, userId, pseudonym);
        return (changed, models);
    }

    private static async Task<long> ExecuteAsync(NpgsqlTransaction transaction, string sql, string userId, string pseudonym)
    {
        await using var command = TenantDatabase.TenantCommand(transaction, sql);
        command.Parameters.AddWithValue("user", userId);
        command.Parameters.AddWithValue("pseudonym", pseudonym);
        return await command.ExecuteNonQueryAsync();
    }

    private static async Task<List<PrivacyRequestView>> ReadRequestsAsync(NpgsqlCommand command)
    {
        var requests = new List<PrivacyRequestView>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            requests.Add(new PrivacyRequestView(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.GetFieldValue<DateTimeOffset>(4), reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5), reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetString(7)));
        }

        return requests;
    }
}
