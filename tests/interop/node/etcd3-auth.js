// npm's etcd3 client with a user and password against a node with auth on: it authenticates
// (Authenticate, then the token as metadata), writes and reads under the prefix it may use, and
// is refused outside it and with a wrong password. Prints one JSON object of what it saw.
// Usage: node etcd3-auth.js HOST:PORT USER PASSWORD PREFIX OTHER_KEY
'use strict';
const { Etcd3, EtcdPermissionDeniedError, EtcdAuthenticationFailedError } = require('etcd3');

const refusal = async (call, type) => {
  try {
    await call();
    return 'allowed';
  } catch (error) {
    return error instanceof type ? type.name : `${error.constructor.name}: ${error.message}`;
  }
};

(async () => {
  const [target, username, password, prefix, other] = process.argv.slice(2);
  const client = new Etcd3({ hosts: `http://${target}`, dialTimeout: 10000, auth: { username, password } });
  await client.put(`${prefix}a`).value('one');
  const value = await client.get(`${prefix}a`).string();
  const keys = await client.getAll().prefix(prefix).keys();
  const otherPut = await refusal(() => client.put(other).value('x'), EtcdPermissionDeniedError);
  const otherGet = await refusal(() => client.get(other).string(), EtcdPermissionDeniedError);
  client.close();

  const wrong = new Etcd3({ hosts: `http://${target}`, dialTimeout: 10000, auth: { username, password: `${password}-wrong` } });
  const wrongPassword = await refusal(() => wrong.get(`${prefix}a`).string(), EtcdAuthenticationFailedError);
  wrong.close();
  console.log(JSON.stringify({ value, keys, otherPut, otherGet, wrongPassword }));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
