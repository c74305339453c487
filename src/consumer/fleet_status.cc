#include "policysync/fleet_status.h"

#include <simdjson.h>

#include <charconv>
#include <cstdio>

#include "core/utf8.h"

namespace policysync {

namespace {

// A JSON string: quotes, backslashes and control bytes escaped, bytes that
// are not UTF-8 replaced (U+FFFD): one bad byte in a reason must not make
// every later record of the instance unreadable to the PM.
void put_string(std::string& out, std::string_view s) {
  std::string valid;
  detail::append_valid_utf8(&valid, s);
  out += '"';
  for (const char c : valid) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void field(std::string& out, const char* name, std::string_view v) {
  out += '"';
  out += name;
  out += "\":";
  put_string(out, v);
}

template <typename N>
void number(std::string& out, const char* name, N v) {
  out += '"';
  out += name;
  out += "\":";
  out += std::to_string(v);
}

Status bad(Reason r, std::string_view what, std::string detail) {
  return Status(r, what, std::move(detail));
}

}  // namespace

std::string encode_status(const StatusRecord& r) {
  std::string o = "{";
  field(o, "instance", r.instance);
  o += ',';
  field(o, "host", r.host);
  o += ',';
  field(o, "version", r.version);
  o += ',';
  field(o, "state", r.state);
  o += ',';
  number(o, "unix_ms", r.unix_ms);
  o += ',';
  number(o, "heartbeat_s", r.heartbeat_s);
  o += ',';
  field(o, "shape", r.sharded ? "sharded" : "broadcast");
  o += ",\"applied\":[";
  for (size_t i = 0; i < r.applied.size(); ++i) {
    if (i) o += ',';
    o += '{';
    field(o, "topic", r.applied[i].tp.topic);
    o += ',';
    number(o, "partition", r.applied[i].tp.partition);
    o += ',';
    number(o, "next", r.applied[i].next);
    o += '}';
  }
  o += "],";
  number(o, "groups", r.groups);
  o += ',';
  number(o, "entries", r.entries);
  o += ',';
  number(o, "malicious", r.malicious);
  o += ",\"rejected\":[";
  for (size_t i = 0; i < r.rejected.size(); ++i) {
    const Rejection& x = r.rejected[i];
    if (i) o += ',';
    o += '{';
    field(o, "group", x.group);
    o += ',';
    field(o, "sync", x.sync);
    o += ',';
    field(o, "at", x.at);
    o += ',';
    field(o, "reason", x.reason);
    o += ',';
    number(o, "unix_ms", x.unix_ms);
    o += '}';
  }
  o += "]}";
  return o;
}

Status decode_status(std::string_view json, StatusRecord* out) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc))
    return bad(Reason::kBadJson, "status", "not a JSON document");
  simdjson::dom::object obj;
  if (doc.get_object().get(obj)) return bad(Reason::kWrongType, "status", "not a JSON object");
  StatusRecord r;
  auto str = [&](simdjson::dom::object o, const char* name, std::string* v) -> Status {
    std::string_view s;
    auto e = o[name];
    if (e.error() == simdjson::NO_SUCH_FIELD) return bad(Reason::kMissingField, name, "missing");
    if (e.get_string().get(s)) return bad(Reason::kWrongType, name, "not a string");
    v->assign(s);
    return Status();
  };
  auto num = [&](simdjson::dom::object o, const char* name, int64_t* v) -> Status {
    auto e = o[name];
    if (e.error() == simdjson::NO_SUCH_FIELD) return bad(Reason::kMissingField, name, "missing");
    if (e.get_int64().get(*v)) return bad(Reason::kWrongType, name, "not an integer");
    return Status();
  };
  int64_t n = 0;
  Status s;
  if (!(s = str(obj, "instance", &r.instance)).ok() || !(s = str(obj, "host", &r.host)).ok() ||
      !(s = str(obj, "version", &r.version)).ok() || !(s = str(obj, "state", &r.state)).ok() ||
      !(s = num(obj, "unix_ms", &r.unix_ms)).ok())
    return s;
  if (!(s = num(obj, "heartbeat_s", &n)).ok()) return s;
  if (n < 1 || n > 86400) return bad(Reason::kOutOfRange, "heartbeat_s", std::to_string(n));
  r.heartbeat_s = static_cast<int>(n);
  std::string shape = "broadcast";  // records without it: broadcast
  if (obj["shape"].error() != simdjson::NO_SUCH_FIELD && !(s = str(obj, "shape", &shape)).ok())
    return s;
  r.sharded = shape == "sharded";  // another (a later version's): read as broadcast
  for (auto [name, dst] : {std::pair<const char*, uint64_t*>{"groups", &r.groups},
                           {"entries", &r.entries},
                           {"malicious", &r.malicious}}) {
    if (!(s = num(obj, name, &n)).ok()) return s;
    *dst = static_cast<uint64_t>(n);
  }
  simdjson::dom::array arr;
  if (obj["applied"].get_array().get(arr))
    return bad(Reason::kWrongType, "applied", "not an array");
  for (simdjson::dom::element e : arr) {
    simdjson::dom::object a;
    if (e.get_object().get(a)) return bad(Reason::kWrongType, "applied", "not an object");
    StatusRecord::Applied x;
    if (!(s = str(a, "topic", &x.tp.topic)).ok() || !(s = num(a, "partition", &n)).ok()) return s;
    x.tp.partition = static_cast<int32_t>(n);
    if (!(s = num(a, "next", &x.next)).ok()) return s;
    r.applied.push_back(std::move(x));
  }
  if (obj["rejected"].get_array().get(arr))
    return bad(Reason::kWrongType, "rejected", "not an array");
  for (simdjson::dom::element e : arr) {
    simdjson::dom::object a;
    if (e.get_object().get(a)) return bad(Reason::kWrongType, "rejected", "not an object");
    Rejection x;
    if (!(s = str(a, "group", &x.group)).ok() || !(s = str(a, "sync", &x.sync)).ok() ||
        !(s = str(a, "at", &x.at)).ok() || !(s = str(a, "reason", &x.reason)).ok() ||
        !(s = num(a, "unix_ms", &x.unix_ms)).ok())
      return s;
    r.rejected.push_back(std::move(x));
  }
  *out = std::move(r);
  return Status();
}

std::string_view sync_state_name(SyncState s) {
  switch (s) {
    case SyncState::kSynced:
      return "SYNCED";
    case SyncState::kPending:
      return "PENDING";
    case SyncState::kNacked:
      return "NACKED";
    case SyncState::kStale:
      return "STALE";
    case SyncState::kNotAssigned:
      return "NOT_ASSIGNED";
  }
  return "?";
}

bool parse_coordinates(std::string_view s, TopicPartition* tp, int64_t* offset) {
  const size_t at = s.rfind('@');
  const size_t slash = s.rfind('/', at);
  if (at == std::string_view::npos || slash == std::string_view::npos || slash == 0) return false;
  int32_t p = 0;
  int64_t o = 0;
  const std::string_view ps = s.substr(slash + 1, at - slash - 1), os = s.substr(at + 1);
  auto r1 = std::from_chars(ps.data(), ps.data() + ps.size(), p);
  auto r2 = std::from_chars(os.data(), os.data() + os.size(), o);
  if (r1.ec != std::errc() || r1.ptr != ps.data() + ps.size() || r2.ec != std::errc() ||
      r2.ptr != os.data() + os.size() || p < 0 || o < 0)
    return false;
  tp->topic.assign(s.substr(0, slash));
  tp->partition = p;
  *offset = o;
  return true;
}

SyncReport report_sync(const StatusRecord& r, const TopicPartition& tp, int64_t offset,
                       int64_t now_ms) {
  SyncReport out;
  const int64_t stamped = r.log_append_ms >= 0 ? r.log_append_ms : r.unix_ms;
  out.age_ms = now_ms > stamped ? now_ms - stamped : 0;
  if (r.state == "stopped" || out.age_ms > 3 * 1000 * static_cast<int64_t>(r.heartbeat_s)) {
    out.state = SyncState::kStale;
    return out;
  }
  const std::string sync =
      tp.topic + "/" + std::to_string(tp.partition) + "@" + std::to_string(offset);
  for (const Rejection& x : r.rejected)
    if (x.sync == sync) {
      out.state = SyncState::kNacked;
      out.reason = x.reason + (x.at != x.sync ? " (at " + x.at + ")" : "");
      return out;
    }
  int64_t next = -1;
  bool reads = false;
  for (const auto& a : r.applied)
    if (a.tp == tp) {
      next = a.next;
      reads = true;
    }
  if (!reads && r.sharded) {
    out.state = SyncState::kNotAssigned;
    return out;
  }
  if (next > offset) {
    out.state = SyncState::kSynced;
    return out;
  }
  out.state = SyncState::kPending;
  out.behind = offset + 1 - (next < 0 ? 0 : next);
  return out;
}

}  // namespace policysync
