import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { RequestRefused, checkRequest } from './request.ts';

const body = Buffer.from('{"ref":"refs/heads/main"}');
const sign = (algo: string, token: string) => `${algo}=${createHmac(algo, token).update(body).digest('hex')}`;

test('generic accepts anything; generic-hmac wants X-Signature over the body', () => {
  assert.doesNotThrow(() => checkRequest('generic', {}, body, 't', undefined));
  assert.doesNotThrow(() => checkRequest('generic-hmac', { 'x-signature': sign('sha256', 't') }, body, 't', undefined));
  assert.doesNotThrow(() => checkRequest('generic-hmac', { 'x-signature': sign('sha1', 't') }, body, 't', undefined));
  assert.throws(() => checkRequest('generic-hmac', { 'x-signature': sign('sha256', 'other') }, body, 't', undefined), /does not match/);
  assert.throws(() => checkRequest('generic-hmac', {}, body, 't', undefined), /missing or malformed/);
});

test('github: signature, then the event filter (case-insensitive)', () => {
  const h = { 'x-hub-signature-256': sign('sha256', 't'), 'x-github-event': 'push' };
  assert.doesNotThrow(() => checkRequest('github', h, body, 't', ['Push']));
  assert.throws(() => checkRequest('github', h, body, 't', ['release']), (e: unknown) => e instanceof RequestRefused && /event 'push' is not authorised/.test(e.message));
  assert.throws(() => checkRequest('github', { ...h, 'x-hub-signature-256': sign('sha256', 'x') }, body, 't', undefined), /does not match/);
  assert.doesNotThrow(() => checkRequest('github', { 'x-hub-signature': sign('sha1', 't') }, body, 't', undefined), 'the old sha1 header still works');
});

test('gitlab and harbor compare a token header; bitbucket signs', () => {
  assert.doesNotThrow(() => checkRequest('gitlab', { 'x-gitlab-token': 't', 'x-gitlab-event': 'Push Hook' }, body, 't', ['Push Hook']));
  assert.throws(() => checkRequest('gitlab', { 'x-gitlab-token': 'nope' }, body, 't', undefined), /X-Gitlab-Token/);
  assert.doesNotThrow(() => checkRequest('harbor', { authorization: 't' }, body, 't', undefined));
  assert.throws(() => checkRequest('harbor', { authorization: 'Bearer t' }, body, 't', undefined), /Authorization/);
  assert.doesNotThrow(() => checkRequest('bitbucket', { 'x-hub-signature': sign('sha256', 't'), 'x-event-key': 'repo:push' }, body, 't', ['repo:push']));
});
