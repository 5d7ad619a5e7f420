#include "schemad/model/codec.h"

#include <cstring>
#include <type_traits>

#include "absl/strings/str_cat.h"

namespace schemad {
namespace {

// One list of fields per struct, walked by both the writer and the reader
// (Fields below), so that the two can never disagree.
class Writer {
 public:
  static constexpr bool kReading = false;
  void Uint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void operator()(std::string& s) {
    Uint(s.size());
    out_.append(s);
  }
  void operator()(bool& b) { Uint(b ? 1 : 0); }
  void operator()(int64_t& v) {
    Uint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  // Its IEEE-754 bits: exact.
  void operator()(double& d) {
    uint64_t bits = 0;
    std::memcpy(&bits, &d, sizeof bits);
    Uint(bits);
  }
  void operator()(std::optional<int64_t>& v) {
    Uint(v.has_value() ? 1 : 0);
    if (v.has_value()) (*this)(*v);
  }
  template <typename E, typename = std::enable_if_t<std::is_enum_v<E>>>
  void operator()(E& e) {
    Uint(static_cast<uint64_t>(e));
  }
  template <typename T>
  void operator()(std::vector<T>& items) {
    Uint(items.size());
    for (T& item : items) Item(item);
  }
  template <typename T>
  void Item(T& item);
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  static constexpr bool kReading = true;
  explicit Reader(absl::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return in_.empty(); }
  uint64_t Uint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) return Fail();
      const unsigned char c = static_cast<unsigned char>(in_[0]);
      in_.remove_prefix(1);
      v |= static_cast<uint64_t>(c & 0x7f) << shift;
      if ((c & 0x80) == 0) return v;
    }
    return Fail();
  }
  void operator()(std::string& s) {
    const uint64_t n = Uint();
    if (n > in_.size()) {
      Fail();
      return;
    }
    s.assign(in_.data(), n);
    in_.remove_prefix(n);
  }
  void operator()(bool& b) { b = Uint() != 0; }
  void operator()(int64_t& v) {
    const uint64_t z = Uint();
    v = static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  void operator()(double& d) {
    const uint64_t bits = Uint();
    std::memcpy(&d, &bits, sizeof d);
  }
  void operator()(std::optional<int64_t>& v) {
    if (Uint() == 0) {
      v.reset();
      return;
    }
    int64_t x = 0;
    (*this)(x);
    v = x;
  }
  template <typename E, typename = std::enable_if_t<std::is_enum_v<E>>>
  void operator()(E& e) {
    const uint64_t v = Uint();
    if (v > 16) Fail();  // every enum of the model is small
    e = static_cast<E>(v);
  }
  template <typename T>
  void operator()(std::vector<T>& items) {
    const uint64_t n = Uint();
    // Each item takes at least one byte: a corrupt count fails here, not
    // in an allocation.
    if (n > in_.size()) {
      Fail();
      return;
    }
    items.clear();
    items.resize(n);
    for (T& item : items) {
      if (!ok_) return;
      Item(item);
    }
  }
  template <typename T>
  void Item(T& item);

 private:
  uint64_t Fail() {
    ok_ = false;
    in_ = {};
    return 0;
  }
  absl::string_view in_;
  bool ok_ = true;
};

template <typename A>
void Fields(A& a, std::string& s) {
  a(s);
}
template <typename A>
void Fields(A& a, IdentityOptions& o) {
  a(o.increment), a(o.min_value), a(o.max_value), a(o.start), a(o.cache), a(o.cycle);
}
template <typename A>
void Fields(A& a, Column& c) {
  Fields(a, c.identity_options);
  a(c.name), a(c.type), a(c.collation), a(c.not_null), a(c.default_expr), a(c.identity),
      a(c.generated), a(c.serial_sequence), a(c.using_expr), a(c.comment), a(c.volatile_default),
      a(c.source), a(c.storage), a(c.compression), a(c.statistics), a(c.type_storage), a(c.options);
}
template <typename A>
void Fields(A& a, Constraint& c) {
  a(c.name), a(c.kind), a(c.columns), a(c.definition), a(c.validated), a(c.ref_table),
      a(c.ref_schema), a(c.ref_columns), a(c.on_delete), a(c.on_update), a(c.deferrable),
      a(c.initially_deferred), a(c.nulls_not_distinct), a(c.check_expr), a(c.no_inherit),
      a(c.source), a(c.comment), a(c.include), a(c.storage), a(c.match_full),
      a(c.delete_set_columns), a(c.exclusion);
}
template <typename A>
void Fields(A& a, IndexKey& k) {
  a(k.column), a(k.expression), a(k.opclass), a(k.descending), a(k.nulls), a(k.collation);
}
template <typename A>
void Fields(A& a, Index& i) {
  a(i.name), a(i.unique), a(i.method), a(i.keys), a(i.include), a(i.predicate), a(i.definition),
      a(i.valid), a(i.columns), a(i.source), a(i.comment), a(i.nulls_not_distinct), a(i.storage);
}
template <typename A>
void Fields(A& a, Trigger& t) {
  a(t.name), a(t.table), a(t.definition), a(t.constraint), a(t.enabled), a(t.comment), a(t.timing),
      a(t.events), a(t.update_columns), a(t.for_each_row), a(t.when), a(t.function), a(t.arguments),
      a(t.deferrable), a(t.initially_deferred), a(t.depends_on), a(t.source), a(t.old_table),
      a(t.new_table);
}
template <typename A>
void Fields(A& a, Table& t) {
  a(t.name), a(t.columns), a(t.constraints), a(t.indexes), a(t.triggers), a(t.comment),
      a(t.unlogged), a(t.row_security), a(t.force_row_security), a(t.storage),
      a(t.replica_identity), a(t.replica_identity_index), a(t.source);
}
template <typename A>
void Fields(A& a, EnumType& e) {
  a(e.name), a(e.labels), a(e.source), a(e.comment);
}
template <typename A>
void Fields(A& a, Extension& e) {
  a(e.name), a(e.schema), a(e.source);
}
template <typename A>
void Fields(A& a, Sequence& s) {
  a(s.name), a(s.type), a(s.increment), a(s.min_value), a(s.max_value), a(s.start), a(s.cache),
      a(s.cycle), a(s.owned_by_table), a(s.owned_by_column), a(s.source), a(s.comment);
}
template <typename A>
void Fields(A& a, View& v) {
  a(v.name), a(v.materialized), a(v.query), a(v.security_invoker), a(v.security_barrier),
      a(v.check_option), a(v.comment), a(v.storage), a(v.indexes), a(v.columns), a(v.depends_on),
      a(v.source), a(v.triggers);
}
template <typename A>
void Fields(A& a, Function& f) {
  a(f.name), a(f.arguments), a(f.identity), a(f.returns), a(f.language), a(f.body), a(f.sql_body),
      a(f.volatility), a(f.strict), a(f.security_definer), a(f.parallel), a(f.config),
      a(f.procedure), a(f.comment), a(f.source), a(f.leakproof), a(f.cost), a(f.rows);
}
template <typename A>
void Fields(A& a, UnmanagedObject& u) {
  a(u.kind), a(u.name), a(u.table);
}
template <typename A>
void Fields(A& a, Schema& s) {
  a(s.name), a(s.exists), a(s.tables), a(s.enums), a(s.extensions), a(s.sequences), a(s.views),
      a(s.functions), a(s.unmanaged), a(s.ignore);
}

// A field added to the model must be added to its list above (and
// kModelCodecVersion bumped): these sizes (Debian 12, x86-64, libstdc++)
// change with any field, and stop the build until the list is updated.
#if defined(__x86_64__) && defined(__GLIBCXX__)
static_assert(sizeof(IdentityOptions) == 88, "IdentityOptions changed: update Fields");
static_assert(sizeof(Column) == 528, "Column changed: update Fields(Column) and the version");
static_assert(sizeof(Constraint) == 424, "Constraint changed: update Fields and the version");
static_assert(sizeof(IndexKey) == 136, "IndexKey changed: update Fields and the version");
static_assert(sizeof(Index) == 312, "Index changed: update Fields and the version");
static_assert(sizeof(Trigger) == 416, "Trigger changed: update Fields and the version");
static_assert(sizeof(Table) == 264, "Table changed: update Fields and the version");
static_assert(sizeof(EnumType) == 120, "EnumType changed: update Fields and the version");
static_assert(sizeof(Extension) == 96, "Extension changed: update Fields and the version");
static_assert(sizeof(Sequence) == 280, "Sequence changed: update Fields and the version");
static_assert(sizeof(View) == 264, "View changed: update Fields and the version");
static_assert(sizeof(Function) == 328, "Function changed: update Fields and the version");
static_assert(sizeof(UnmanagedObject) == 72, "UnmanagedObject changed: update Fields");
static_assert(sizeof(Schema) == 232, "Schema changed: update Fields and the version");
#endif

template <typename T>
void Writer::Item(T& item) {
  Fields(*this, item);
}
template <typename T>
void Reader::Item(T& item) {
  Fields(*this, item);
}

constexpr char kMagic[] = "schemad-model";

}  // namespace

std::string EncodeSchema(const Schema& schema) {
  Writer w;
  std::string magic = kMagic;
  w(magic);
  int64_t version = kModelCodecVersion;
  w(version);
  Schema copy = schema;  // Fields takes references to mutable members
  Fields(w, copy);
  return w.Take();
}

absl::StatusOr<Schema> DecodeSchema(absl::string_view encoded) {
  Reader r(encoded);
  std::string magic;
  r(magic);
  int64_t version = 0;
  r(version);
  if (!r.ok() || magic != kMagic || version != kModelCodecVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a schemad model of codec version ", kModelCodecVersion));
  }
  Schema schema;
  Fields(r, schema);
  if (!r.ok() || !r.done()) {
    return absl::InvalidArgumentError("truncated or corrupt schemad model");
  }
  return schema;
}

}  // namespace schemad
