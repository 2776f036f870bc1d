// Package session is the planner's bounded table of client sessions. It maps
// a client session id (the Databricks command context or the Spark job group
// id sent by the Spark driver) to what the planner caches for that session,
// typically the authenticated principal, so that it does not verify the
// client's JWT on every request.
//
// The table holds at most a fixed number of sessions (--max-sessions,
// DefaultCapacity by default) and evicts the least recently used one when it
// is full. Eviction is never an error: a caller that misses simply
// re-authenticates the request and puts the session back.
//
// The table is split into up to 64 shards chosen by a seeded hash of the id
// (hash/maphash, so clients cannot aim all their ids at one shard); each shard
// is an LRU list under its own mutex. The LRU order is therefore per shard: the
// entry evicted is the least recently used of its shard, which for a large
// table is a close approximation of the global LRU. Small tables use fewer
// shards so that each shard keeps at least 16 entries.
//
// Entries live in one slice per shard and are linked by 32-bit indexes rather
// than pointers, and ids are copied on insert (so a table never pins the
// request buffer an id was sliced from). One million sessions of a typical
// value (a pointer, a 32-byte token hash and an expiry) take about 200 MB.
//
// The table does not interpret values: expiry, revocation and policy versions
// are checked by the caller on Get.
package session
