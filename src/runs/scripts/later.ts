/**
 * Replays never write an older value over a newer one. A dead-lettered attributes object's user is
 * recorded in `deadusers`; every later chunk of the run that Braze accepts for such a user records,
 * per attribute it wrote (`later`, field `<external_id> NUL <key>`), the newest source line that set
 * it and the newest that incremented it: "set,inc". A replay then leaves a key out of a letter when a
 * newer line set it, or incremented it while the letter sets it; an increment after increments is
 * kept (they add up in any order). Lane order guarantees the dead letter is recorded before any later
 * chunk of its user is sent.
 *
 * DEAD_USERS: KEYS deadusers. ARGV ttl, external_id...
 * LATER: KEYS deadusers, later. ARGV ttl, then quads external_id, key, 'inc'|'set', line.
 */
export const DEAD_USERS = `
for i = 2, #ARGV do redis.call('SADD', KEYS[1], ARGV[i]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
`;

export const LATER = `
local n = 0
for i = 2, #ARGV, 4 do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 1 then
    local field = ARGV[i] .. '\0' .. ARGV[i + 1]
    local was = redis.call('HGET', KEYS[2], field) or '0,0'
    local set, inc = string.match(was, '^(%d+),(%d+)$')
    set, inc = tonumber(set or '0'), tonumber(inc or '0')
    local line = tonumber(ARGV[i + 3])
    if ARGV[i + 2] == 'inc' then inc = math.max(inc, line) else set = math.max(set, line) end
    redis.call('HSET', KEYS[2], field, set .. ',' .. inc)
    n = n + 1
  end
end
if n > 0 then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
return n
`;
