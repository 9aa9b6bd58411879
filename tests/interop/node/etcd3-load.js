// Load through npm's etcd3 client on one node while another etcd3 client watches a prefix on a
// second node. Prints one JSON object: the revisions the puts got and the events the watch saw.
// Usage: node etcd3-load.js WRITER_HOST:PORT WATCHER_HOST:PORT PREFIX COUNT CONCURRENCY
'use strict';
const { Etcd3 } = require('etcd3');

(async () => {
  const [writerTarget, watcherTarget, prefix, countText, concurrencyText] = process.argv.slice(2);
  const count = Number(countText);
  const concurrency = Number(concurrencyText);
  const writer = new Etcd3({ hosts: `http://${writerTarget}`, dialTimeout: 10000 });
  const watching = new Etcd3({ hosts: `http://${watcherTarget}`, dialTimeout: 10000 });
  const events = [];
  const watcher = await watching.watch().prefix(prefix).create();
  const done = new Promise((resolve) => {
    watcher.on('put', (kv) => {
      events.push({ key: kv.key.toString(), value: kv.value.toString(), revision: Number(kv.mod_revision) });
      if (events.length === count) resolve();
    });
  });

  const puts = [];
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = next++;
      const response = await writer.put(`${prefix}k${i % 50}`).value(`v${i}`).exec();
      puts.push({ value: `v${i}`, revision: Number(response.header.revision) });
    }
  }));

  await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error(`the watch saw ${events.length} of ${count} events`)), 60000))]);
  await watcher.cancel();
  writer.close();
  watching.close();
  console.log(JSON.stringify({ puts, events }));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
