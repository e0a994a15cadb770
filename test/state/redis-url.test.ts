import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRedisUrl, redactUrl, RedisUrlError } from '../../src/state/redis/connect.ts';
import { checkKeyPrefix } from '../../src/state/redis/store.ts';

describe('REDIS_URL forms', () => {
  it('redis:// and rediss:// are one node, passed to ioredis as given', () => {
    assert.deepEqual(parseRedisUrl('redis://:pw@10.0.0.5:6380/2'), { mode: 'single', tls: false, url: 'redis://:pw@10.0.0.5:6380/2', nodes: [{ host: '10.0.0.5', port: 6380 }] });
    const tls = parseRedisUrl('rediss://cache.internal');
    assert.equal(tls.mode, 'single');
    assert.equal(tls.tls, true);
    assert.deepEqual(tls.nodes, [{ host: 'cache.internal', port: 6379 }]);
  });

  it('redis+sentinel://: sentinels (default port 26379), master name, db, data-node and sentinel credentials', () => {
    assert.deepEqual(
      parseRedisUrl('redis+sentinel://app:s%40cret@s1:26380,s2,[::1]:26381/mymaster/3?sentinel_username=sent&sentinel_password=sp'),
      {
        mode: 'sentinel',
        tls: false,
        nodes: [{ host: 's1', port: 26380 }, { host: 's2', port: 26379 }, { host: '::1', port: 26381 }],
        username: 'app',
        password: 's@cret',
        masterName: 'mymaster',
        db: 3,
        sentinelUsername: 'sent',
        sentinelPassword: 'sp',
      },
    );
    const t = parseRedisUrl('rediss+sentinel://:pw@s1:26379/m?sentinelPassword=x');
    assert.equal(t.tls, true);
    assert.equal(t.password, 'pw');
    assert.equal(t.username, undefined);
    assert.equal(t.sentinelPassword, 'x');
  });

  it('redis+cluster://: seed nodes (default port 6379) and credentials', () => {
    assert.deepEqual(parseRedisUrl('rediss+cluster://u:p@n1:7000,n2:7001,n3'), {
      mode: 'cluster',
      tls: true,
      nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }, { host: 'n3', port: 6379 }],
      username: 'u',
      password: 'p',
    });
  });

  it('a bad URL is refused with what is wrong and the accepted forms, never the password', () => {
    const cases: Array<[string, RegExp]> = [
      ['redis+sentinel://:hunter2@s1:26379', /REDIS_URL redis\+sentinel:\/\/s1:26379: the master name is missing/],
      ['redis+sentinel://:hunter2@s1/m/x', /database "x" is not an index 0–15/],
      ['redis+sentinel://:hunter2@s1/m/0/extra', /too many path segments/],
      ['redis+sentinel://:hunter2@s1/m?password=hunter2', /unknown query parameter "password" \(accepted: sentinel_username, sentinel_password\)/],
      ['redis+cluster://:hunter2@n1:7000/1', /a Redis Cluster has only database 0/],
      ['redis+cluster://:hunter2@n1:70000', /port 70000 is out of range/],
      ['redis+cluster://:hunter2@n1:7000,', /"" is not host\[:port\]/],
      ['redis://:hunter2@a:1,b:2', /one host only; for several use redis\+sentinel:\/\/ or redis\+cluster:\/\//],
      ['memcached://:hunter2@a:1', /unknown scheme "memcached:\/\/"; expected one of redis\[s\]:\/\//],
      ['hunter2', /not a URL/],
      // A raw "@" in the password: the tail after it would look like a host.
      ['redis+cluster://default:hun@hunter2@n1:7000', /a host holds "@": percent-encode "@" in the user or password as %40/],
      ['redis://default:hun@hunter2@n1:7000', /a host holds "@"/],
      ['redis://u:hunter2%zz@n1:1', /not valid percent-encoding/],
    ];
    for (const [url, message] of cases) {
      assert.throws(() => parseRedisUrl(url), (err: unknown) => {
        assert.ok(err instanceof RedisUrlError, url);
        assert.match(err.message, message);
        assert.doesNotMatch(err.message, /hunter2/, 'no password in the message');
        return true;
      });
    }
  });

  it('redactUrl drops the userinfo and the query (where passwords live)', () => {
    assert.equal(redactUrl('redis+sentinel://u:pw@s1:1,s2:2/m/0?sentinel_password=x'), 'redis+sentinel://s1:1,s2:2/m/0');
    assert.equal(redactUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
    assert.equal(redactUrl('redis://u:pw@tail-of-pw@h:1'), 'redis://h:1', 'up to the last "@"');
  });

  it('a key prefix with a brace is refused, naming the hash tag rule', () => {
    assert.throws(() => checkKeyPrefix('llmx:{a}'), /keyPrefix "llmx:\{a\}" must not contain "\{" or "\}": the first \{…\} of a key is its Redis Cluster hash tag/);
    assert.throws(() => checkKeyPrefix('x}'), RangeError);
    assert.doesNotThrow(() => checkKeyPrefix('prod-eu:llmx:'));
  });
});
