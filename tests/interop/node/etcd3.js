// npm's etcd3 client, which knows nothing of AspireKv, against a node's etcd API: a prefix
// watch, a lease, a put with that lease, a get, a revoke. Prints one JSON object of what it saw.
// Usage: node etcd3.js HOST:PORT PREFIX
'use strict';
const { Etcd3 } = require('etcd3');

(async () => {
  const [target, prefix] = process.argv.slice(2);
  const client = new Etcd3({ hosts: `http://${target}`, dialTimeout: 10000 });
  const seen = [];
  const watcher = await client.watch().prefix(prefix).create();
  const events = new Promise((resolve) => {
    watcher.on('put', (kv) => { seen.push(`PUT ${kv.key.toString()}=${kv.value.toString()}`); if (seen.length === 3) resolve(); });
    watcher.on('delete', (kv) => { seen.push(`DELETE ${kv.key.toString()}`); if (seen.length === 3) resolve(); });
  });

  const lease = client.lease(30, { autoKeepAlive: false });
  const leaseId = await lease.grant();
  await client.put(`${prefix}plain`).value('one');
  await lease.put(`${prefix}leased`).value('two');
  const plain = await client.get(`${prefix}plain`).string();
  const leasedBefore = await client.get(`${prefix}leased`).string();
  await lease.revoke();
  const leasedAfter = await client.get(`${prefix}leased`).string();
  const keys = await client.getAll().prefix(prefix).keys();
  await Promise.race([events, new Promise((_, reject) => setTimeout(() => reject(new Error(`watch saw only ${JSON.stringify(seen)}`)), 20000))]);
  await watcher.cancel();
  client.close();
  console.log(JSON.stringify({ leaseId, plain, leasedBefore, leasedAfter, keys, events: seen }));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
