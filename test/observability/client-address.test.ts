import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientAddressOf } from '../../src/observability/client-address.ts';

const attrs = (v: string) => ({ 'envoy.filters.http.ext_proc': { fields: { 'source.address': { stringValue: v } } } });

describe('clientAddressOf (Envoy source.address → client_address)', () => {
  it('takes the IP of ip:port and [ipv6]:port', () => {
    assert.equal(clientAddressOf(attrs('127.0.0.1:53412')), '127.0.0.1');
    assert.equal(clientAddressOf(attrs('[::1]:8080')), '::1');
    assert.equal(clientAddressOf(attrs('2001:db8::7')), '2001:db8::7');
    assert.equal(clientAddressOf(attrs('10.1.2.3')), '10.1.2.3');
  });
  it('is undefined without the attribute or for what is not an IP', () => {
    assert.equal(clientAddressOf(undefined), undefined);
    assert.equal(clientAddressOf({}), undefined);
    assert.equal(clientAddressOf(attrs('')), undefined);
    assert.equal(clientAddressOf(attrs('/var/run/envoy.sock')), undefined);
    assert.equal(clientAddressOf(attrs('evil.example.com:80')), undefined);
  });
});
