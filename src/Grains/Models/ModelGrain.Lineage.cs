using PhantomMl.Grains.Lineage;
using PhantomMl.Grains.Security;

namespace PhantomMl.Grains.Models;

/// <summary>A model's lineage: edges to the models it derives from, within its tenant, and the walk up and down them.</summary>
public sealed partial class ModelGrain
{
    /// <inheritdoc />
    public async Task<LineageEdge> AddLineageAsync(string parentModel, string lineageType, string? transformationMetadata)
    {
        var audit = Event("add-lineage", Details: new { parentModel, lineageType });
        var caller = await AuthorizeAsync(Permissions.ModelsWrite, audit);
        var model = Model;
        // Lineage is not part of the model's view: the cache stays as it is.
        return await changes.ApplyAsync(caller, _tenantId, audit, async (connection, transaction) =>
        {
            if (lineageType is not ("derived" or "retrained" or "ensemble"))
            {
                throw PhantomException.Invalid("lineageType must be derived, retrained or ensemble.", "lineageType");
            }

            // Same tenant only: the parent is looked up under this tenant's row-level security.
            var parent = await modelSql.LoadAsync(connection, transaction, ModelLifecycle.Name(parentModel))
                ?? throw PhantomException.NotFound("model", parentModel);
            if (parent.Id == model.Id)
            {
                throw PhantomException.Invalid("A model cannot be its own parent.", "parentModel");
            }

            var ancestors = await modelSql.WalkLineageAsync(connection, transaction, parent.Id, depth: 100, up: true);
            if (ancestors.Any(edge => edge.ParentModel == model.Name))
            {
                throw PhantomException.Conflict($"'{parent.Name}' already descends from '{model.Name}'; lineage cannot form a cycle.");
            }

            var metadata = ModelValidation.Metadata(transformationMetadata, "transformationMetadata");
            // The same edge in the platform's lineage graph, in the same transaction: the two always agree.
            await lineageSql.RecordAsync(transaction, (LineageKinds.Model, model.Name), (LineageKinds.Model, parent.Name), lineageType,
                caller.UserId, metadata);
            return await modelSql.InsertLineageAsync(connection, transaction, model, parent, lineageType, metadata);
        });
    }

    /// <inheritdoc />
    public async Task<LineageGraph> GetLineageAsync(int depth)
    {
        await AuthorizeAsync(Permissions.ModelsRead, Event("read"));
        if (depth is < 1 or > 50)
        {
            throw PhantomException.Invalid("depth must be 1-50.", "depth");
        }

        var model = Model;
        return await database.InTenantAsync(_tenantId, async (connection, transaction) => new LineageGraph(model.Name,
            await modelSql.WalkLineageAsync(connection, transaction, model.Id, depth, up: true),
            await modelSql.WalkLineageAsync(connection, transaction, model.Id, depth, up: false)));
    }
}
