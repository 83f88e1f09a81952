/**
 * The change record's Lua (see record.ts for the layout). Every script takes the record's key base
 * as ARGV[1] (its meta is base:meta, its buckets base:b:N) and works on many users per call, so a
 * million-user snapshot is a few thousand round trips. The bucket of each user is computed by the
 * caller (hash.ts), so the scripts need no hashing of their own.
 */

/** Whether an entry (mark, then 4-byte hashes) holds a synced value: a slot neither empty nor null. */
const HOLDS = `
local function holds(v, nullh)
  for o = 5, #v - 3, 4 do
    local s = string.sub(v, o, o + 3)
    if s ~= '\\0\\0\\0\\0' and s ~= nullh then return true end
  end
  return false
end
`;

/**
 * ARGV: base, mark, write ('1' or '0'), then bucket, id pairs. For each user: 0 when the record does
 * not know it (with write, an entry holding only the mark is made, so a second row of the user in
 * this sync is seen as such), 2 when this mark is already on it (a second row of the user in this
 * sync), else its entry as it was. With write, the mark is put on every user looked up.
 */
export const LOOKUP = `
local base, mark, write = ARGV[1], ARGV[2], ARGV[3] == '1'
local out = {}
for i = 4, #ARGV, 2 do
  local key = base .. ':b:' .. ARGV[i]
  local id = ARGV[i + 1]
  local v = redis.call('HGET', key, id)
  if not v then
    out[#out + 1] = 0
    if write then redis.call('HSET', key, id, mark) end
  elseif string.sub(v, 1, 4) == mark then
    out[#out + 1] = 2
  else
    out[#out + 1] = v
    if write then redis.call('HSET', key, id, mark .. string.sub(v, 5)) end
  end
end
return out
`;

/**
 * The first pass of a mirror sync. ARGV: base, mark, null hash, then bucket, id pairs. Puts the mark
 * on every known user of the snapshot; returns how many users holding values it marked (each once).
 */
export const MARK = `${HOLDS}
local base, mark, nullh = ARGV[1], ARGV[2], ARGV[3]
local n = 0
for i = 4, #ARGV, 2 do
  local key = base .. ':b:' .. ARGV[i]
  local v = redis.call('HGET', key, ARGV[i + 1])
  if v and string.sub(v, 1, 4) ~= mark then
    redis.call('HSET', key, ARGV[i + 1], mark .. string.sub(v, 5))
    if holds(v, nullh) then n = n + 1 end
  end
end
return n
`;

/**
 * What Braze accepted. ARGV: base, mark, null hash, then per user: bucket, id, n, and n pairs of
 * attribute name and 4-byte hash. A name without a slot gets the next one. The meta's \`users\` counts
 * entries holding values; an entry left with nothing but nulls is dropped (the user is forgotten, and
 * is new again if it comes back).
 */
export const COMMIT = `${HOLDS}
local base, mark, nullh = ARGV[1], ARGV[2], ARGV[3]
local meta = base .. ':meta'
local i = 4
while i <= #ARGV do
  local key = base .. ':b:' .. ARGV[i]
  local id = ARGV[i + 1]
  local n = tonumber(ARGV[i + 2])
  i = i + 3
  local v = redis.call('HGET', key, id)
  local before = v and holds(v, nullh)
  if v then v = mark .. string.sub(v, 5) else v = mark end
  for _ = 1, n do
    local field = 's:' .. ARGV[i]
    local slot = redis.call('HGET', meta, field)
    if not slot then
      slot = redis.call('HINCRBY', meta, 'slots', 1) - 1
      redis.call('HSET', meta, field, slot)
    end
    local at = 5 + 4 * tonumber(slot)
    if #v < at - 1 then v = v .. string.rep('\\0', at - 1 - #v) end
    v = string.sub(v, 1, at - 1) .. ARGV[i + 1] .. string.sub(v, at + 4)
    i = i + 2
  end
  if holds(v, nullh) then
    redis.call('HSET', key, id, v)
    if not before then redis.call('HINCRBY', meta, 'users', 1) end
  elseif n > 0 then
    redis.call('HDEL', key, id)
    if before then redis.call('HINCRBY', meta, 'users', -1) end
  else
    redis.call('HSET', key, id, v)
  end
end
return 0
`;

/**
 * Users a snapshot left out. ARGV: base, mark, null hash, first bucket, bucket after the last. Returns
 * id, entry pairs of the users holding values that do not carry the mark.
 */
export const MISSING = `${HOLDS}
local base, mark, nullh = ARGV[1], ARGV[2], ARGV[3]
local out = {}
for b = tonumber(ARGV[4]), tonumber(ARGV[5]) - 1 do
  local all = redis.call('HGETALL', base .. ':b:' .. b)
  for j = 1, #all, 2 do
    local v = all[j + 1]
    if string.sub(v, 1, 4) ~= mark and holds(v, nullh) then
      out[#out + 1] = all[j]
      out[#out + 1] = v
    end
  end
end
return out
`;
