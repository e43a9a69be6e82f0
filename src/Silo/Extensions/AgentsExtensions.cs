using PhantomMl.Grains.Adapters.MongoDb;
using PhantomMl.Grains.Adapters.PostgreSql;
using PhantomMl.Grains.Agents;
using PhantomMl.Grains.Agents.Actions;

namespace PhantomMl.Silo.Extensions;

/// <summary>The Agents area: agents, executions, workflows, their actions and their logs.</summary>
public static class AgentsExtensions
{
    /// <summary>
    /// Registers agent orchestration. Execution logs go to MongoDB when <c>ConnectionStrings:MongoDb</c> is set, else to
    /// PostgreSQL (JSONB documents).
    /// </summary>
    public static WebApplicationBuilder AddPhantomAgents(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AgentOptions>().BindConfiguration(AgentOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<AgentSql>();
        builder.Services.AddSingleton<PlatformCalls>();
        builder.Services.AddSingleton<IAgentAction, NoopAction>();
        builder.Services.AddSingleton<IAgentAction, TrainAction>();
        builder.Services.AddSingleton<IAgentAction, EvaluateAction>();
        builder.Services.AddSingleton<IAgentAction, PromoteAction>();
        builder.Services.AddSingleton<IAgentAction, BatchInferAction>();
        builder.Services.AddSingleton<IAgentAction, WebhookAction>();
        builder.Services.AddSingleton<IAgentAction, ApprovalAction>();
        builder.Services.AddSingleton<AgentActions>();
        if (builder.Configuration.GetConnectionString("MongoDb") is { Length: > 0 } mongo)
        {
            builder.Services.AddSingleton<IExecutionLogStore>(new MongoExecutionLogStore(mongo));
        }
        else
        {
            builder.Services.AddSingleton<IExecutionLogStore, PostgreSqlExecutionLogStore>();
        }

        return builder;
    }
}
