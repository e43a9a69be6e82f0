// A full MLflow workflow through a real third-party MLflow client (npm 'mlflow'), against the platform's MLflow API.
// The client covers experiments, runs, metrics and artifact listing; what it lacks (the artifact proxy's upload and
// download, the model registry) is called with fetch, the way MLflow's own clients call those endpoints.
// Prints one JSON object with what it saw; tests/PhantomMl.Tests/Training/MlflowClientTests.cs checks it.
const uri = process.env.MLFLOW_TRACKING_URI;
const token = process.env.MLFLOW_TRACKING_TOKEN;
const name = process.argv[2];
if (!uri || !token || !name) {
  process.stderr.write('usage: MLFLOW_TRACKING_URI=... MLFLOW_TRACKING_TOKEN=... node workflow.cjs <experiment-name>\n');
  process.exit(2);
}

// The client logs every request body with console.log; 10,000 metric points would bury the output.
const print = (value) => process.stdout.write(JSON.stringify(value) + '\n');
console.log = () => {};
const MLflow = require('mlflow');
const headers = { Authorization: `Bearer ${token}` };
const mlflow = new MLflow({ endpoint: uri, headers });

// The client throws Error(JSON.stringify({status, statusText, data})) wrapped once more; this unwraps it.
async function failure(promise) {
  try {
    await promise;
    return null;
  } catch (e) {
    const inner = JSON.parse(e.message.replace(/^Error: /, ''));
    return { status: inner.status, error_code: inner.data && inner.data.error_code };
  }
}

async function call(method, path, body) {
  const response = await fetch(`${uri}${path}`, {
    method,
    headers: { ...headers, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(data)}`);
  return data;
}

async function main() {
  const seen = {};
  const { experiment_id: experimentId } = await mlflow.Experiments.create({ name });
  seen.experiment = (await mlflow.Experiments.get({ experiment_id: experimentId })).experiment;

  // Two runs with different parameters, so the search below has one to leave out.
  const { run } = await mlflow.Runs.create({ experiment_id: experimentId, start_time: Date.now(),
    tags: [{ key: 'mlflow.runName', value: 'baseline' }, { key: 'team', value: 'vision' }] });
  const runId = run.info.run_id;
  const other = (await mlflow.Runs.create({ experiment_id: experimentId, start_time: Date.now(), tags: [] })).run.info.run_id;
  await mlflow.Runs.logParameter({ run_id: runId, key: 'lr', value: '0.01' });
  await mlflow.Runs.logBatch({ run_id: runId, params: [{ key: 'epochs', value: '50' }, { key: 'optimizer', value: 'adam' }], metrics: [], tags: [] });
  await mlflow.Runs.logParameter({ run_id: other, key: 'lr', value: '0.1' });
  seen.changedParam = await failure(mlflow.Runs.logParameter({ run_id: runId, key: 'lr', value: '0.5' }));

  // 10,000 points: loss and accuracy over 5,000 steps, in batches of 1,000 metrics.
  const start = Date.now() - 60_000;
  for (let batch = 0; batch < 10; batch++) {
    const metrics = [];
    for (let i = 0; i < 500; i++) {
      const step = batch * 500 + i;
      metrics.push({ key: 'loss', value: 1 / (1 + step), timestamp: start + step, step });
      metrics.push({ key: 'accuracy', value: step / 5000, timestamp: start + step, step });
    }
    await mlflow.Runs.logBatch({ run_id: runId, metrics, params: [], tags: [] });
  }
  await mlflow.Runs.logMetric({ run_id: other, key: 'loss', value: 0.9, timestamp: Date.now(), step: 1 });
  await mlflow.Runs.setTag({ run_id: runId, key: 'stage', value: 'tuned' });
  await mlflow.Runs.setTag({ run_id: runId, key: 'scratch', value: 'x' });
  await mlflow.Runs.deleteTag({ run_id: runId, key: 'scratch' });

  const history = await mlflow.Metrics.getHistory({ run_id: runId, metric_key: 'loss' });
  seen.lossHistory = { count: history.metrics.length, first: history.metrics[0], last: history.metrics[history.metrics.length - 1] };
  const search = await mlflow.Runs.search({ experiment_ids: [experimentId],
    filter: "metrics.loss < 0.5 and params.lr = '0.01' and tags.team = 'vision'", order_by: ['metrics.accuracy DESC'], max_results: 10 });
  seen.search = (search.runs || []).map((r) => r.info.run_id);
  const all = await mlflow.Runs.search({ experiment_ids: [experimentId], max_results: 1 });
  const next = await mlflow.Runs.search({ experiment_ids: [experimentId], max_results: 1, page_token: all.next_page_token });
  seen.pages = [(all.runs || []).map((r) => r.info.run_id), (next.runs || []).map((r) => r.info.run_id), next.next_page_token || null];

  // A file through the artifact proxy: uploaded, listed by the client, downloaded.
  const artifactUri = run.info.artifact_uri;
  const proxied = artifactUri.replace(/^mlflow-artifacts:/, `${uri}/api/2.0/mlflow-artifacts/artifacts`);
  const content = 'weights: ' + 'x'.repeat(1000);
  const put = await fetch(`${proxied}/model/weights.txt`, { method: 'PUT', headers, body: content });
  seen.uploadStatus = put.status;
  seen.listing = (await mlflow.Artifacts.list({ run_id: runId, path: 'model' })).files;
  const download = await fetch(`${proxied}/model/weights.txt`, { headers });
  seen.downloaded = (await download.text()) === content;

  await mlflow.Runs.update({ run_id: runId, status: 'FINISHED', end_time: Date.now() });
  seen.run = (await mlflow.Runs.get({ run_id: runId })).run;

  // The registry: a model, a version from the run, an alias.
  const model = `${name}-model`;
  await call('POST', '/api/2.0/mlflow/registered-models/create', { name: model, description: 'from the workflow' });
  const version = (await call('POST', '/api/2.0/mlflow/model-versions/create',
    { name: model, source: `${artifactUri}/model`, run_id: runId })).model_version;
  await call('POST', '/api/2.0/mlflow/registered-models/alias', { name: model, alias: 'champion', version: version.version });
  seen.byAlias = (await call('GET', `/api/2.0/mlflow/registered-models/alias?name=${encodeURIComponent(model)}&alias=champion`)).model_version;
  seen.registered = (await call('GET', `/api/2.0/mlflow/registered-models/get?name=${encodeURIComponent(model)}`)).registered_model;

  seen.missingRun = await failure(mlflow.Runs.get({ run_id: '0'.repeat(32) }));
  seen.ids = { experimentId, runId, other, model };
  print(seen);
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
