// PatternSet: a group's pattern rules (SPEC §4 step 4) compiled into one
// Hyperscan block-mode database. Immutable once compiled; readers scan with
// their own scratch (see Reader). Built by the writer at SYNC_COMPLETE.
#pragma once

#include <hs/hs.h>

#include <memory>
#include <string>
#include <vector>

#include "core/rule_value.h"
#include "policysync/status.h"

namespace policysync::detail {

struct PatternRule {
  std::string pattern;  // normalised policy domain holding '*', e.g. "ads*.example.com"
  RuleValue value;
};

class PatternSet {
 public:
  // Writer side: compiles `rules` (any order). Rules are ranked most specific
  // first: more literal characters, then byte order; the best match wins.
  static Status compile(std::vector<PatternRule> rules, std::unique_ptr<PatternSet>* out);
  ~PatternSet();

  // Reader side, wait-free (Hyperscan block scan, no allocation): index of the
  // best rule matching the whole normalised name, or -1. `scratch` must have
  // been allocated for this database (Reader guarantees it).
  int match(const char* name, int n, hs_scratch_t* scratch) const;

  const PatternRule& rule(int i) const { return rules_[static_cast<size_t>(i)]; }
  size_t size() const { return rules_.size(); }
  const hs_database_t* database() const { return db_; }

  // The Hyperscan regex for one pattern rule (anchored; '*' = any label chars).
  static std::string to_regex(const std::string& pattern);

 private:
  PatternSet() = default;
  std::vector<PatternRule> rules_;
  hs_database_t* db_ = nullptr;
};

}  // namespace policysync::detail
