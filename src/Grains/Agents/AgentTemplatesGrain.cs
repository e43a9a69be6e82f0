using Npgsql;
using Orleans.Concurrency;
using PhantomMl.Grains.Agents.Actions;
using PhantomMl.Grains.Audit;
using PhantomMl.Grains.Common;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Agents;

/// <summary>
/// See <see cref="IAgentTemplatesGrain"/>. Templates are platform-wide (the design's index has no tenant): any
/// authenticated caller reads them, only platform admins publish, and a published version never changes.
/// </summary>
[StatelessWorker]
public sealed class AgentTemplatesGrain(AgentSql agentSql, AgentActions actions, AccessGuard guard,
    CallerAuthenticator authenticator, AuditSql auditSql) : Grain, IAgentTemplatesGrain
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<AgentTemplateView>> ListAsync()
    {
        await authenticator.AuthenticateAsync();
        return await agentSql.ListTemplatesAsync();
    }

    /// <inheritdoc />
    public async Task<AgentTemplateView> CreateAsync(CreateAgentTemplate command)
    {
        var audit = new AuditEvent("configuration_change", "agent_template", $"{command?.AgentType}@{command?.Version}", "create");
        var caller = await guard.AuthorizePlatformAsync(Permissions.AgentsRun, audit);
        if (command is null)
        {
            throw PhantomException.Invalid("Send the template.", "body");
        }

        AgentValidation.Name(command.Version, "version");
        AgentValidation.Name(command.Name, "name");
        AgentValidation.Text(command.Description, 4000, "description");
        var config = JsonText.ObjectOrNull(command.Config, AgentValidation.MaxDefinitionChars, "config") ?? "{}";
        actions.Of(command.AgentType).Validate(AgentSettings.Merge(config, null));
        if (command.TimeoutMs is < 100 or > AgentGrain.MaxTimeoutMs || command.MaxRetries is < 0 or > AgentGrain.MaxRetries)
        {
            throw PhantomException.Invalid($"timeoutMs is 100 to {AgentGrain.MaxTimeoutMs}, maxRetries 0 to {AgentGrain.MaxRetries}.", "timeoutMs");
        }

        try
        {
            var created = await agentSql.InsertTemplateAsync(command with { Config = config }, caller.UserId);
            await auditSql.RecordAloneAsync(PlatformTenant.Id, caller.UserId, caller.Client, audit);
            return created;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw PhantomException.Conflict($"Template {command.AgentType}@{command.Version} exists; publish a new version.");
        }
    }
}
