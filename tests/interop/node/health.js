// The standard gRPC health client (grpc-health-check's service definition over @grpc/grpc-js), as
// Kubernetes and grpc-health-probe use it. Prints one JSON object: each service name's status.
// Usage: node health.js HOST:PORT [SERVICE...]   ("" is the whole server)
'use strict';
const grpc = require('@grpc/grpc-js');
const { service } = require('grpc-health-check');

const Health = grpc.makeGenericClientConstructor(service, 'Health');

function check(client, name) {
  return new Promise((resolve) => {
    client.check({ service: name }, { deadline: new Date(Date.now() + 10000) }, (error, response) =>
      resolve(error ? `error ${grpc.status[error.code]}: ${error.details}` : response.status));
  });
}

(async () => {
  const [target, ...names] = process.argv.slice(2);
  const client = new Health(target, grpc.credentials.createInsecure());
  const statuses = {};
  for (const name of names.length ? names : ['']) {
    statuses[name] = await check(client, name);
  }

  client.close();
  console.log(JSON.stringify(statuses));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
