#include "match/pattern_set.h"

#include <algorithm>
#include <climits>

namespace policysync::detail {

std::string PatternSet::to_regex(const std::string& pattern) {
  std::string re = "^";
  size_t i = 0;
  if (pattern.size() >= 2 && pattern[0] == '*' && pattern[1] == '.') {
    re += "(?:[a-z0-9_\\-]+\\.)+";  // "*." = one or more whole labels
    i = 2;
  }
  for (; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '*')
      re += "[a-z0-9_\\-]*";  // '*' inside a label never crosses a dot
    else if (c == '.')
      re += "\\.";
    else if (c == '-')
      re += "\\-";
    else
      re += c;
  }
  re += "$";
  return re;
}

Status PatternSet::compile(std::vector<PatternRule> rules, std::unique_ptr<PatternSet>* out) {
  auto literal_count = [](const std::string& p) {
    return std::count_if(p.begin(), p.end(), [](char c) { return c != '*'; });
  };
  std::sort(rules.begin(), rules.end(), [&](const PatternRule& a, const PatternRule& b) {
    auto la = literal_count(a.pattern), lb = literal_count(b.pattern);
    return la != lb ? la > lb : a.pattern < b.pattern;
  });
  std::unique_ptr<PatternSet> set(new PatternSet());
  set->rules_ = std::move(rules);
  if (set->rules_.empty()) {
    *out = std::move(set);
    return Status();
  }
  std::vector<std::string> regexes;
  std::vector<const char*> exprs;
  std::vector<unsigned> flags, ids;
  regexes.reserve(set->rules_.size());
  for (size_t i = 0; i < set->rules_.size(); ++i) {
    regexes.push_back(to_regex(set->rules_[i].pattern));
    flags.push_back(HS_FLAG_SINGLEMATCH);
    ids.push_back(static_cast<unsigned>(i));
  }
  for (const auto& r : regexes) exprs.push_back(r.c_str());
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(exprs.data(), flags.data(), ids.data(), static_cast<unsigned>(exprs.size()),
                       HS_MODE_BLOCK, nullptr, &set->db_, &err) != HS_SUCCESS) {
    std::string detail = err && err->message ? err->message : "unknown error";
    if (err && err->expression >= 0)
      detail = "\"" + set->rules_[static_cast<size_t>(err->expression)].pattern + "\": " + detail;
    hs_free_compile_error(err);
    return Status(Reason::kBadPattern, "domain", detail);
  }
  *out = std::move(set);
  return Status();
}

PatternSet::~PatternSet() { hs_free_database(db_); }

int PatternSet::match(const char* name, int n, hs_scratch_t* scratch) const {
  if (db_ == nullptr) return -1;
  int best = INT_MAX;
  auto on_match = [](unsigned id, unsigned long long, unsigned long long, unsigned,
                     void* ctx) -> int {
    int* b = static_cast<int*>(ctx);
    if (static_cast<int>(id) < *b) *b = static_cast<int>(id);
    return 0;
  };
  if (hs_scan(db_, name, static_cast<unsigned>(n), 0, scratch, on_match, &best) != HS_SUCCESS)
    return -1;
  return best == INT_MAX ? -1 : best;
}

}  // namespace policysync::detail
