// Proves schemad is grpcurl-ready: a generic gRPC client that knows no
// schemad .proto file learns every service and message from server reflection,
// then calls SchemaService and grpc.health.v1.Health with what it learned.
//
//   node tests/node/reflection_test.mjs --server 127.0.0.1:PORT [--token T]
//
// Prints one line per check and ends with `reflection: N passed, M failed`;
// exits 1 on any failure. Every call carries a 5 s deadline, and a watchdog
// ends the process if anything still hangs.
import grpc from '@grpc/grpc-js';
import reflection from 'grpc-reflection-js';

const CALL_TIMEOUT_MS = 5000;
const WATCHDOG_MS = 60000;
const SCHEMA_SERVICE = 'schemad.v1.SchemaService';
const HEALTH_SERVICE = 'grpc.health.v1.Health';
const REFLECTION_SERVICES = [
  'grpc.reflection.v1alpha.ServerReflection', // what grpc-reflection-js (and grpcurl's fallback) speaks
  'grpc.reflection.v1.ServerReflection',
];

function usage(message) {
  if (message) console.error(`reflection_test: ${message}`);
  console.error(
    'usage: node reflection_test.mjs --server HOST:PORT [--token T] [--admin-token T]',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const args = { server: '', token: '', 'admin-token': '' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    if (name !== '--server' && name !== '--token' && name !== '--admin-token') {
      usage(`unknown argument ${arg}`);
    }
    let value;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length) value = argv[++i];
    else usage(`${name} needs a value`);
    args[name.slice(2)] = value;
  }
  if (!args.server) usage('--server is required');
  return args;
}

const args = parseArgs(process.argv.slice(2));

const watchdog = setTimeout(() => {
  console.log(`FAIL watchdog: the test did not finish within ${WATCHDOG_MS / 1000} s`);
  console.log(`reflection: ${passed} passed, ${failed + 1} failed`);
  process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();

let passed = 0;
let failed = 0;

function describeError(err) {
  if (err && typeof err.code === 'number') {
    const name = Object.keys(grpc.status).find((k) => grpc.status[k] === err.code) || '?';
    return `gRPC ${name} (${err.code}): ${err.details || err.message}`;
  }
  return err && err.message ? err.message : String(err);
}

// Runs one check: fn returns a detail string on success and throws on failure.
async function check(name, fn) {
  try {
    const detail = await withTimeout(fn(), CALL_TIMEOUT_MS * 3, name);
    passed++;
    console.log(`PASS ${name}${detail ? `: ${detail}` : ''}`);
    return true;
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}: ${describeError(err)}`);
    return false;
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function deadline() {
  return new Date(Date.now() + CALL_TIMEOUT_MS);
}

// grpc-reflection-js has no per-call options, so its streams get their
// deadline from a client interceptor.
const deadlineInterceptor = (options, nextCall) =>
  new grpc.InterceptingCall(nextCall({ ...options, deadline: options.deadline || deadline() }));

const channelOptions = { interceptors: [deadlineInterceptor] };
const credentials = grpc.credentials.createInsecure();

// A grpc-js client for `serviceName`, built only from the protobufjs Root that
// reflection produced: method paths, request and response codecs.
function clientFromReflection(root, serviceName) {
  const service = root.lookupService(serviceName);
  const definition = {};
  for (const method of Object.values(service.methods)) {
    method.resolve();
    const requestType = method.resolvedRequestType;
    const responseType = method.resolvedResponseType;
    definition[method.name] = {
      path: `/${serviceName}/${method.name}`,
      requestStream: !!method.requestStream,
      responseStream: !!method.responseStream,
      requestSerialize: (value) => {
        // fromObject first: it turns enum names ("APPLY_MODE_ONLINE") into
        // their numbers, as grpcurl does with JSON input.
        const message = requestType.fromObject(value);
        const problem = requestType.verify(message);
        if (problem) throw new Error(`${requestType.fullName}: ${problem}`);
        return Buffer.from(requestType.encode(message).finish());
      },
      requestDeserialize: (bytes) => requestType.decode(bytes),
      responseSerialize: (value) => Buffer.from(responseType.encode(value).finish()),
      responseDeserialize: (bytes) =>
        responseType.toObject(responseType.decode(bytes), {
          enums: String,
          longs: String,
          defaults: true,
        }),
    };
  }
  const Constructor = grpc.makeGenericClientConstructor(definition, serviceName, {});
  return new Constructor(args.server, credentials, channelOptions);
}

function unary(client, method, request, metadata = new grpc.Metadata()) {
  return new Promise((resolve, reject) => {
    client[method](request, metadata, { deadline: deadline() }, (err, response) =>
      err ? reject(err) : resolve(response),
    );
  });
}

// A server-streaming call: every message, in order, once the stream ends.
function serverStream(client, method, request, metadata) {
  return new Promise((resolve, reject) => {
    const messages = [];
    const call = client[method](request, metadata, { deadline: deadline() });
    call.on('data', (message) => messages.push(message));
    call.on('error', reject);
    call.on('end', () => resolve(messages));
  });
}

function bearer(token) {
  const metadata = new grpc.Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

// Reflection and health are probed without credentials, as grpcurl and a
// Kubernetes probe would; only SchemaService calls carry the token.
const reflectionClient = new reflection.Client(args.server, credentials, channelOptions);
const clients = [];

async function main() {
  // (1) Service listing.
  await check('list services', async () => {
    const services = await reflectionClient.listServices();
    assert(Array.isArray(services), 'ListServices returned no list');
    const missing = [SCHEMA_SERVICE, HEALTH_SERVICE].filter((s) => !services.includes(s));
    const served = REFLECTION_SERVICES.filter((s) => services.includes(s));
    assert(missing.length === 0, `missing ${missing.join(', ')} in [${services.join(', ')}]`);
    assert(served.length > 0, `no reflection service in [${services.join(', ')}]`);
    return [...services].sort().join(', ');
  });

  // (2) SchemaService, described by reflection only.
  let schema = null;
  await check(`resolve ${SCHEMA_SERVICE}`, async () => {
    const root = await reflectionClient.fileContainingSymbol(SCHEMA_SERVICE);
    const service = root.lookupService(SCHEMA_SERVICE);
    const methods = Object.keys(service.methods);
    for (const m of ['Status', 'Diff', 'Initialize', 'InitializeStream']) {
      assert(methods.includes(m), `descriptor lacks method ${m} (has ${methods.join(', ')})`);
    }
    schema = clientFromReflection(root, SCHEMA_SERVICE);
    clients.push(schema);
    return `methods ${methods.join(', ')}`;
  });

  if (schema) {
    await check(`call ${SCHEMA_SERVICE}/Status`, async () => {
      const response = await unary(schema, 'Status', {}, bearer(args.token));
      assert(response && 'state' in response, `response has no state: ${JSON.stringify(response)}`);
      assert(
        ['IN_SYNC', 'PENDING', 'DRIFTED'].includes(response.state),
        `state is ${JSON.stringify(response.state)}`,
      );
      return `state=${response.state}`;
    });

    await check(`call ${SCHEMA_SERVICE}/Diff`, async () => {
      const response = await unary(schema, 'Diff', {}, bearer(args.token));
      assert(response && response.plan, `response has no plan: ${JSON.stringify(response)}`);
      const fingerprint = response.plan.fingerprint;
      assert(typeof fingerprint === 'string' && fingerprint.length > 0, 'plan has no fingerprint');
      const steps = (response.plan.steps || []).length;
      const differences = (response.differences || []).length;
      return `plan.fingerprint=${fingerprint} steps=${steps} differences=${differences}`;
    });

    if (args['admin-token']) {
      // The streamed, online Initialize: events described by reflection
      // only (a oneof per event), the response last.
      await check(`stream ${SCHEMA_SERVICE}/InitializeStream (online)`, async () => {
        const events = await serverStream(
          schema,
          'InitializeStream',
          { mode: 'APPLY_MODE_ONLINE' },
          bearer(args['admin-token']),
        );
        assert(events.length >= 2, `only ${events.length} events: ${JSON.stringify(events)}`);
        // Field names as the descriptor spells them (protobufjs keeps case).
        const started = events.find((e) => e.run_started);
        assert(started, `no run_started event among ${events.length}`);
        const last = events[events.length - 1];
        assert(last.result, `the last event is not the result: ${Object.keys(last)}`);
        assert(
          last.result.outcome === 'APPLIED' && last.result.mode === 'APPLY_MODE_ONLINE',
          `result ${last.result.outcome} ${last.result.mode}`,
        );
        assert(
          String(last.result.run_id) === String(started.run_started.run_id),
          `run ids differ: ${started.run_started.run_id} vs ${last.result.run_id}`,
        );
        const kinds = events.map((e) => Object.keys(e).find((k) => k !== 'at' && e[k]));
        assert(kinds.includes('phase_finished'), `no phase_finished in ${kinds}`);
        return `events ${kinds.join(', ')}`;
      });
    }
  }

  // (3) Health, described by reflection only.
  let health = null;
  await check(`resolve ${HEALTH_SERVICE}`, async () => {
    const root = await reflectionClient.fileContainingSymbol(HEALTH_SERVICE);
    const service = root.lookupService(HEALTH_SERVICE);
    assert('Check' in service.methods, 'descriptor lacks method Check');
    health = clientFromReflection(root, HEALTH_SERVICE);
    clients.push(health);
    return `methods ${Object.keys(service.methods).join(', ')}`;
  });

  if (health) {
    await check('health Check service=""', async () => {
      const response = await unary(health, 'Check', { service: '' });
      assert(response.status === 'SERVING', `status is ${response.status}`);
      return response.status;
    });

    // Readiness follows a periodic database ping, so give a server that has
    // only just started a few seconds to report it.
    await check(`health Check service="${SCHEMA_SERVICE}"`, async () => {
      const until = Date.now() + CALL_TIMEOUT_MS;
      let response;
      for (;;) {
        response = await unary(health, 'Check', { service: SCHEMA_SERVICE });
        if (response.status === 'SERVING' || Date.now() >= until) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert(response.status === 'SERVING', `status is ${response.status}`);
      return response.status;
    });
  }

  // (4) Without the token, SchemaService refuses.
  if (args.token && schema) {
    await check(`call ${SCHEMA_SERVICE}/Status without token`, async () => {
      let response;
      try {
        response = await unary(schema, 'Status', {});
      } catch (err) {
        assert(
          err.code === grpc.status.UNAUTHENTICATED,
          `expected UNAUTHENTICATED (16), got ${describeError(err)}`,
        );
        return `UNAUTHENTICATED (16): ${err.details}`;
      }
      throw new Error(`expected UNAUTHENTICATED, got a response: ${JSON.stringify(response)}`);
    });
  }
}

let exitCode = 1;
try {
  await main();
} catch (err) {
  failed++;
  console.log(`FAIL unexpected: ${describeError(err)}`);
} finally {
  console.log(`reflection: ${passed} passed, ${failed} failed`);
  exitCode = failed === 0 && passed > 0 ? 0 : 1;
  for (const c of clients) c.close();
  reflectionClient.grpcClient.close();
}
process.exit(exitCode);
