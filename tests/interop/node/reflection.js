// A client that has no kv.proto: it learns aspirekv.v1.KeyValue from the node's gRPC server
// reflection, then calls Put and Get through @grpc/grpc-js. Prints one JSON object of what it saw.
// Usage: node reflection.js HOST:PORT
'use strict';
const grpc = require('@grpc/grpc-js');
const { GrpcReflection } = require('grpc-js-reflection-client');

function call(client, method, request) {
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + 10000);
    client[method](request, { deadline }, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

(async () => {
  const target = process.argv[2];
  const reflection = new GrpcReflection(target, grpc.credentials.createInsecure());
  const services = await reflection.listServices();
  const descriptor = await reflection.getDescriptorBySymbol('aspirekv.v1.KeyValue');
  const pkg = descriptor.getPackageObject({ keepCase: true, enums: String, longs: String, defaults: true });
  const kv = new pkg.aspirekv.v1.KeyValue(target, grpc.credentials.createInsecure());

  const key = `reflection/${Date.now()}`;
  const put = await call(kv, 'Put', { key, value: Buffer.from('found by reflection') });
  const get = await call(kv, 'Get', { key });
  let invalid;
  try {
    await call(kv, 'Put', { key: '', value: Buffer.from('x') });
  } catch (error) {
    invalid = { code: grpc.status[error.code], details: error.details };
  }

  kv.close();
  console.log(JSON.stringify({
    services,
    methods: Object.keys(pkg.aspirekv.v1.KeyValue.service),
    putRevision: put.revision,
    found: get.found,
    value: Buffer.from(get.entry.value).toString(),
    modRevision: get.entry.mod_revision,
    invalid,
  }));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
