#include "schemad/model/model.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace schemad {
namespace {

template <typename T>
const T* FindByName(const std::vector<T>& items, const std::string& name) {
  for (const T& item : items) {
    if (item.name == name) return &item;
  }
  return nullptr;
}

// Finds the item whose key_of(item) is `key` in `items`, which SortSchema
// keeps sorted by that key: binary search, then a linear scan as the
// fallback for a schema built by hand in another order.
template <typename T, typename KeyOf>
const T* FindSorted(const std::vector<T>& items, const std::string& key, KeyOf key_of) {
  auto it = std::lower_bound(items.begin(), items.end(), key,
                             [&](const T& item, const std::string& k) { return key_of(item) < k; });
  if (it != items.end() && key_of(*it) == key) return &*it;
  if (std::is_sorted(items.begin(), items.end(),
                     [&](const T& a, const T& b) { return key_of(a) < key_of(b); })) {
    return nullptr;
  }
  for (const T& item : items) {
    if (key_of(item) == key) return &item;
  }
  return nullptr;
}

template <typename T>
void SortByName(std::vector<T>& items) {
  std::stable_sort(items.begin(), items.end(),
                   [](const T& a, const T& b) { return a.name < b.name; });
}

}  // namespace

const Column* Table::FindColumn(const std::string& n) const { return FindByName(columns, n); }
const Constraint* Table::FindConstraint(const std::string& n) const {
  return FindByName(constraints, n);
}
const Index* Table::FindIndex(const std::string& n) const { return FindByName(indexes, n); }
const Table* Schema::FindTable(const std::string& n) const {
  return FindSorted(tables, n, [](const Table& t) -> const std::string& { return t.name; });
}
const EnumType* Schema::FindEnum(const std::string& n) const { return FindByName(enums, n); }
const Sequence* Schema::FindSequence(const std::string& n) const {
  return FindByName(sequences, n);
}

const Trigger* Table::FindTrigger(const std::string& n) const { return FindByName(triggers, n); }
const Function* Schema::FindFunction(const std::string& key) const {
  return FindSorted(functions, key, [](const Function& f) { return f.Key(); });
}
const View* Schema::FindView(const std::string& n) const {
  return FindSorted(views, n, [](const View& v) -> const std::string& { return v.name; });
}
const Index* View::FindIndex(const std::string& n) const { return FindByName(indexes, n); }
const Trigger* View::FindTrigger(const std::string& n) const { return FindByName(triggers, n); }

const Extension* Schema::FindExtension(const std::string& n) const {
  return FindByName(extensions, n);
}

void SortSchema(Schema& schema) {
  SortByName(schema.tables);
  SortByName(schema.enums);
  SortByName(schema.extensions);
  SortByName(schema.sequences);
  SortByName(schema.views);
  std::stable_sort(schema.functions.begin(), schema.functions.end(),
                   [](const Function& a, const Function& b) { return a.Key() < b.Key(); });
  for (View& view : schema.views) {
    SortByName(view.indexes);
    SortByName(view.triggers);
  }
  std::sort(schema.unmanaged.begin(), schema.unmanaged.end(),
            [](const UnmanagedObject& a, const UnmanagedObject& b) {
              // By the kind's name: the order (and so the fingerprint) of
              // the catalog text this replaced.
              const std::string_view ak = UnmanagedKindName(a.kind);
              const std::string_view bk = UnmanagedKindName(b.kind);
              return std::tie(ak, a.name) < std::tie(bk, b.name);
            });
  for (Table& table : schema.tables) {
    SortByName(table.constraints);
    SortByName(table.indexes);
    SortByName(table.triggers);
  }
}

const char* UnmanagedKindName(UnmanagedKind kind) {
  switch (kind) {
    case UnmanagedKind::kFunction:
      return "function";
    case UnmanagedKind::kTrigger:
      return "trigger";
    case UnmanagedKind::kPolicy:
      return "policy";
    case UnmanagedKind::kRule:
      return "rule";
    case UnmanagedKind::kForeignTable:
      return "foreign_table";
    case UnmanagedKind::kDomain:
      return "domain";
    case UnmanagedKind::kCompositeType:
      return "composite_type";
    case UnmanagedKind::kStatistics:
      return "statistics";
    case UnmanagedKind::kInheritance:
      return "inheritance";
    case UnmanagedKind::kPartitioning:
      return "partitioning";
    case UnmanagedKind::kPartition:
      return "partition";
  }
  return "?";
}

std::optional<UnmanagedKind> UnmanagedKindFromName(std::string_view name) {
  for (UnmanagedKind kind :
       {UnmanagedKind::kFunction, UnmanagedKind::kTrigger, UnmanagedKind::kPolicy,
        UnmanagedKind::kRule, UnmanagedKind::kForeignTable, UnmanagedKind::kDomain,
        UnmanagedKind::kCompositeType, UnmanagedKind::kStatistics, UnmanagedKind::kInheritance,
        UnmanagedKind::kPartitioning, UnmanagedKind::kPartition}) {
    if (name == UnmanagedKindName(kind)) return kind;
  }
  return std::nullopt;
}

std::string SerializeForFingerprint(const Schema& schema) {
  std::string out = absl::StrCat("schema ", schema.name, " ", schema.exists, "\n");
  for (const Extension& e : schema.extensions) {
    absl::StrAppend(&out, "ext ", e.name, "|", e.schema, "\n");
  }
  for (const EnumType& e : schema.enums) {
    absl::StrAppend(&out, "enum ", e.name, " ", absl::StrJoin(e.labels, ","), "\n");
    if (!e.comment.empty()) absl::StrAppend(&out, " comment ", e.comment, "\n");
  }
  for (const Sequence& s : schema.sequences) {
    auto opt = [](const std::optional<int64_t>& v) { return v ? absl::StrCat(*v) : "-"; };
    absl::StrAppend(&out, "seq ", s.name, " ", s.type, " ", opt(s.increment), " ", opt(s.min_value),
                    " ", opt(s.max_value), " ", opt(s.start), " ", opt(s.cache), " ", s.cycle, " ",
                    s.owned_by_table, ".", s.owned_by_column, "\n");
    if (!s.comment.empty()) absl::StrAppend(&out, " comment ", s.comment, "\n");
  }
  for (const UnmanagedObject& u : schema.unmanaged) {
    absl::StrAppend(&out, "unmanaged ", UnmanagedKindName(u.kind), " ", u.name, "\n");
  }
  for (const Table& t : schema.tables) {
    absl::StrAppend(&out, "table ", t.name, "\n");
    std::vector<const Column*> columns;
    for (const Column& c : t.columns) columns.push_back(&c);
    // Column order is not a difference, so it does not change the print.
    std::sort(columns.begin(), columns.end(),
              [](const Column* a, const Column* b) { return a->name < b->name; });
    for (const Column* c : columns) {
      absl::StrAppend(&out, " col ", c->name, "|", c->type, "|", c->not_null, "|", c->default_expr,
                      "|", static_cast<int>(c->identity), "|", c->generated, "\n");
      if (!c->comment.empty())
        absl::StrAppend(&out, " colcomment ", c->name, "|", c->comment, "\n");
      const IdentityOptions& o = c->identity_options;
      if (o.increment || o.min_value || o.max_value || o.start || o.cache || o.cycle) {
        auto v = [](const std::optional<int64_t>& x) {
          return x.has_value() ? absl::StrCat(*x) : std::string("-");
        };
        absl::StrAppend(&out, " colidentity ", c->name, "|", v(o.increment), "|", v(o.min_value),
                        "|", v(o.max_value), "|", v(o.start), "|", v(o.cache), "|", o.cycle, "\n");
      }
    }
    if (!t.comment.empty()) absl::StrAppend(&out, " comment ", t.comment, "\n");
    // Attributes added later print only when set, so that fingerprints of
    // registries that do not use them stay what they were.
    for (const Column* c : columns) {
      if (!c->collation.empty())
        absl::StrAppend(&out, " colcollate ", c->name, "|", c->collation, "\n");
      if (!c->storage.empty() || !c->compression.empty() || c->statistics != -1 ||
          !c->options.empty()) {
        absl::StrAppend(&out, " colphys ", c->name, "|", c->storage, "|", c->compression, "|",
                        c->statistics, "|", absl::StrJoin(c->options, ","), "\n");
      }
    }
    if (t.unlogged || t.row_security || t.force_row_security || !t.storage.empty()) {
      absl::StrAppend(&out, " props ", t.unlogged, "|", t.row_security, "|", t.force_row_security,
                      "|", absl::StrJoin(t.storage, ","), "\n");
    }
    if (t.replica_identity != ReplicaIdentity::kDefault) {
      absl::StrAppend(&out, " replident ", static_cast<int>(t.replica_identity), "|",
                      t.replica_identity_index, "\n");
    }
    for (const Trigger& g : t.triggers) {
      absl::StrAppend(&out, " trg ", g.name, "|", g.definition, "|", static_cast<int>(g.enabled),
                      "|", g.comment, "\n");
    }
    for (const Constraint& c : t.constraints) {
      absl::StrAppend(&out, " con ", c.name, "|", c.definition, "|", c.validated, "\n");
      if (!c.comment.empty()) absl::StrAppend(&out, " concomment ", c.name, "|", c.comment, "\n");
    }
    for (const Index& i : t.indexes) {
      absl::StrAppend(&out, " idx ", i.name, "|", i.unique, "|", i.definition, "|", i.valid, "\n");
      if (!i.comment.empty()) absl::StrAppend(&out, " idxcomment ", i.name, "|", i.comment, "\n");
    }
  }
  for (const Function& f : schema.functions) {
    absl::StrAppend(&out, "fn ", f.name, "(", f.arguments, ")|", f.returns, "|", f.language, "|",
                    f.body, "|", static_cast<int>(f.volatility), "|", f.strict, "|",
                    f.security_definer, "|", static_cast<int>(f.parallel), "|",
                    absl::StrJoin(f.config, ";"), "|", f.procedure, "|", f.comment, "\n");
    if (f.sql_body || f.leakproof || f.cost > 0 || f.rows > 0) {
      absl::StrAppend(&out, " fnopts ", f.sql_body, "|", f.leakproof, "|", f.cost, "|", f.rows,
                      "\n");
    }
  }
  for (const View& v : schema.views) {
    absl::StrAppend(&out, "view ", v.name, "|", v.materialized, "|", v.security_invoker, "|",
                    v.security_barrier, "|", static_cast<int>(v.check_option), "|", v.query, "|",
                    v.comment, "\n");
    if (!v.storage.empty()) absl::StrAppend(&out, " storage ", absl::StrJoin(v.storage, ","), "\n");
    for (const Column& c : v.columns) {
      if (!c.comment.empty()) absl::StrAppend(&out, " colcomment ", c.name, "|", c.comment, "\n");
    }
    for (const Index& i : v.indexes) {
      absl::StrAppend(&out, " idx ", i.name, "|", i.unique, "|", i.definition, "|", i.valid, "\n");
    }
    for (const Trigger& g : v.triggers) {
      absl::StrAppend(&out, " trg ", g.name, "|", g.definition, "|", static_cast<int>(g.enabled),
                      "|", g.comment, "\n");
    }
  }
  return out;
}

// The identifiers of SQL text: unquoted ones folded to lower case, quoted
// ones as written. Over-inclusive (string literals count too): it only
// orders creation.
static std::set<std::string> Identifiers(absl::string_view text) {
  std::set<std::string> out;
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '"') {
      std::string name;
      for (++i; i < text.size(); ++i) {
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            name += '"';
            ++i;
            continue;
          }
          ++i;
          break;
        }
        name += text[i];
      }
      out.insert(std::move(name));
    } else if (absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_' ||
               static_cast<unsigned char>(c) >= 0x80) {
      const size_t start = i;
      while (i < text.size() &&
             (absl::ascii_isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_' ||
              text[i] == '$' || static_cast<unsigned char>(text[i]) >= 0x80)) {
        ++i;
      }
      out.insert(absl::AsciiStrToLower(text.substr(start, i - start)));
    } else {
      ++i;
    }
  }
  return out;
}

// For functions given as (name, text), the place of each in an order where
// a function comes after the registry's functions its text names (text
// order otherwise; a cycle is left as it is). A SQL-standard body binds its
// calls when it is created: created before the function it calls, it would
// bind to a same-named function of the target schema instead.
std::vector<int> CallOrder(const std::vector<std::pair<std::string, std::string>>& functions) {
  std::map<std::string, std::vector<int>> by_name;
  for (int i = 0; i < static_cast<int>(functions.size()); ++i) {
    by_name[functions[i].first].push_back(i);
  }
  std::vector<std::vector<int>> calls(functions.size());
  for (int i = 0; i < static_cast<int>(functions.size()); ++i) {
    for (const std::string& word : Identifiers(functions[i].second)) {
      auto it = by_name.find(word);
      if (it == by_name.end() || word == functions[i].first) continue;
      calls[i].insert(calls[i].end(), it->second.begin(), it->second.end());
    }
  }
  std::vector<int> place(functions.size(), 0);  // 0: not placed, -1: being placed
  int next = 0;
  std::function<void(int)> visit = [&](int i) {
    if (place[i] != 0) return;
    place[i] = -1;
    for (int callee : calls[i]) visit(callee);
    place[i] = ++next;
  };
  for (int i = 0; i < static_cast<int>(functions.size()); ++i) visit(i);
  return place;
}

// The schema's views, each after the views it reads (declaration order
// otherwise; a cycle is left for PostgreSQL to refuse).
std::vector<const View*> ViewsInDependencyOrder(const Schema& schema) {
  std::vector<const View*> out;
  std::map<std::string, int> state;  // 1: being placed, 2: placed
  std::function<void(const View&)> place = [&](const View& view) {
    int& st = state[view.name];
    if (st != 0) return;
    st = 1;
    for (const std::string& relation : view.depends_on) {
      const size_t dot = relation.find('.');
      if (const View* dep = schema.FindView(relation.substr(0, dot))) place(*dep);
    }
    state[view.name] = 2;
    out.push_back(&view);
  };
  for (const View& view : schema.views) place(view);
  return out;
}

bool UsesRelationTypes(const Function& function, const Schema& schema) {
  const std::string text = absl::StrCat(function.arguments, " ", function.returns, " ",
                                        function.sql_body ? function.body : "");
  std::string word;
  auto names_relation = [&](const std::string& w) {
    return !w.empty() && (schema.FindTable(w) != nullptr || schema.FindView(w) != nullptr);
  };
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$') {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      continue;
    }
    if (names_relation(word)) return true;
    word.clear();
  }
  return names_relation(word);
}

const char* ReferentialActionSql(ReferentialAction action) {
  switch (action) {
    case ReferentialAction::kNoAction:
      return "NO ACTION";
    case ReferentialAction::kRestrict:
      return "RESTRICT";
    case ReferentialAction::kCascade:
      return "CASCADE";
    case ReferentialAction::kSetNull:
      return "SET NULL";
    case ReferentialAction::kSetDefault:
      return "SET DEFAULT";
  }
  return "NO ACTION";
}

ReferentialAction ReferentialActionFromCode(char code) {
  switch (code) {
    case 'r':
      return ReferentialAction::kRestrict;
    case 'c':
      return ReferentialAction::kCascade;
    case 'n':
      return ReferentialAction::kSetNull;
    case 'd':
      return ReferentialAction::kSetDefault;
    default:  // 'a', pg_constraint's NO ACTION
      return ReferentialAction::kNoAction;
  }
}

}  // namespace schemad
