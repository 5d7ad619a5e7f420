// Catalog queries: named constants, one per object kind, set-based (never
// one query per table). Each takes $1 = the schema name and reads
// pg_catalog directly, excluding extension-owned objects. Output text
// (types, defaults, definitions) is as PostgreSQL prints it under the
// caller's search_path.
#ifndef SCHEMAD_CATALOG_QUERIES_H_
#define SCHEMAD_CATALOG_QUERIES_H_

namespace schemad::queries {

inline constexpr char kSchemaExists[] =
    "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)";

inline constexpr char kTables[] = R"sql(
SELECT c.relname
FROM pg_class c
WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)
  AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY c.relname)sql";

// A default cannot reference columns, so it deparses without its relation
// (pg_get_expr(..., 0) takes no lock on it); a generated expression needs
// the relation for its column names.
inline constexpr char kColumns[] = R"sql(
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       CASE WHEN ad.adbin IS NULL THEN ''
            WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, 0)
            ELSE pg_get_expr(ad.adbin, ad.adrelid) END,
       a.attidentity, a.attgenerated, COALESCE(seq.relname, ''), a.attnum, a.attcollation::text
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN (SELECT DISTINCT ON (d.refobjid, d.refobjsubid) d.refobjid, d.refobjsubid, s.relname
           FROM pg_class s
           JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
                           AND d.objsubid = 0 AND d.refclassid = 'pg_class'::regclass
                           AND d.deptype = 'a'
           WHERE s.relkind = 'S'
             AND s.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)
           ORDER BY d.refobjid, d.refobjsubid, s.relname) seq
  ON seq.refobjid = c.oid AND seq.refobjsubid = a.attnum
WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)
  AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum)sql";

// Constraints as structured fields; the definition text is composed from
// them in one place (catalog.cc), the same way for the live schema and the
// canonicalized registry. Only CHECK expressions are deparsed.
// Columns come back as attnums, mapped to names with kColumns' output.
inline constexpr char kConstraints[] = R"sql(
SELECT c.relname, k.conname, k.contype, k.convalidated, k.conkey::text,
       COALESCE(f.relname, ''), COALESCE(fn.nspname, ''), k.confkey::text,
       k.confdeltype, k.confupdtype, k.confmatchtype, k.condeferrable, k.condeferred,
       CASE WHEN k.contype = 'c' THEN pg_get_expr(k.conbin, k.conrelid) ELSE '' END,
       k.connoinherit, COALESCE(k.confdelsetcols::text, ''),
       COALESCE(ix.indnullsnotdistinct, false), COALESCE(ix.indkey::text, ''),
       COALESCE(ix.indnkeyatts, 0), COALESCE(array_to_string(ic.reloptions, ', '), ''),
       CASE WHEN k.contype = 'f' AND f.relnamespace <> c.relnamespace THEN
         ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, o)
               JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.o)
       END
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
LEFT JOIN pg_class f ON f.oid = k.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = f.relnamespace
LEFT JOIN pg_index ix ON ix.indexrelid = k.conindid AND k.contype IN ('p', 'u')
LEFT JOIN pg_class ic ON ic.oid = ix.indexrelid
WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)
  AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND k.contype IN ('p', 'u', 'f', 'c')
  AND k.conparentid = 0
ORDER BY c.relname, k.conname)sql";

// Indexes that no constraint owns, as structured fields; the definition is
// composed in catalog.cc. Expression keys and predicates are deparsed;
// plain keys come back as attnums (indkey, "0" for an expression).
inline constexpr char kIndexes[] = R"sql(
SELECT t.relname, i.relname, x.indisunique, am.amname, x.indisvalid, x.indkey::text,
       x.indnkeyatts,
       CASE WHEN x.indexprs IS NULL THEN '{}'::text[] ELSE
         ARRAY(SELECT CASE WHEN x.indkey[k - 1] = 0
                           THEN pg_get_indexdef(x.indexrelid, k, false) ELSE '' END
               FROM generate_series(1, x.indnkeyatts) k ORDER BY k) END,
       x.indclass::text, x.indoption::text, x.indcollation::text,
       CASE WHEN x.indpred IS NULL THEN '' ELSE pg_get_expr(x.indpred, x.indrelid) END,
       CASE WHEN x.indexprs IS NULL AND x.indpred IS NULL THEN '{}'::text[] ELSE
         ARRAY(SELECT DISTINCT a.attname FROM pg_depend d
               JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = d.refobjsubid
               WHERE d.classid = 'pg_class'::regclass AND d.objid = x.indexrelid
                 AND d.refclassid = 'pg_class'::regclass AND d.refobjid = x.indrelid
                 AND d.refobjsubid > 0 ORDER BY 1) END,
       x.indnullsnotdistinct, COALESCE(array_to_string(i.reloptions, ', '), '')
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_am am ON am.oid = i.relam
WHERE t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)
  AND t.relkind IN ('r', 'p') AND NOT t.relispartition
  AND x.indexrelid NOT IN (SELECT k.conindid FROM pg_constraint k
                           WHERE k.contype IN ('p', 'u', 'x') AND k.conindid <> 0)
ORDER BY t.relname, i.relname)sql";

// Names of the operator classes and collations that index definitions
// must spell out: non-default operator classes, and the collations indexes
// of the schema use. Qualified when not visible in search_path.
inline constexpr char kIndexLookups[] = R"sql(
SELECT 'o', oc.oid::text,
       CASE WHEN pg_opclass_is_visible(oc.oid) THEN quote_ident(oc.opcname)
            ELSE quote_ident(n.nspname) || '.' || quote_ident(oc.opcname) END
FROM pg_opclass oc JOIN pg_namespace n ON n.oid = oc.opcnamespace
WHERE NOT oc.opcdefault
UNION ALL
SELECT 'c', co.oid::text,
       CASE WHEN pg_collation_is_visible(co.oid) THEN quote_ident(co.collname)
            ELSE quote_ident(n.nspname) || '.' || quote_ident(co.collname) END
FROM pg_collation co JOIN pg_namespace n ON n.oid = co.collnamespace
WHERE co.oid IN (SELECT unnest(x.indcollation::oid[]) FROM pg_index x
                 JOIN pg_class t ON t.oid = x.indrelid
                 WHERE t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)))sql";

inline constexpr char kEnums[] = R"sql(
SELECT t.typname, ARRAY(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid
                        ORDER BY e.enumsortorder)
FROM pg_type t
WHERE t.typnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1) AND t.typtype = 'e'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                  AND d.objid = t.oid AND d.deptype = 'e')
ORDER BY t.typname)sql";

// Extensions are database-wide; plpgsql is built in.
inline constexpr char kExtensions[] = R"sql(
SELECT e.extname, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname <> 'plpgsql' AND $1::text IS NOT NULL ORDER BY e.extname)sql";

// Sequences no column owns (serial) and no identity or extension owns.
inline constexpr char kSequences[] = R"sql(
SELECT s.relname FROM pg_class s
WHERE s.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1) AND s.relkind = 'S'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = s.oid AND d.deptype IN ('a', 'i', 'e'))
ORDER BY s.relname)sql";

inline constexpr char kVolatileFunctions[] =
    "SELECT DISTINCT proname FROM pg_proc WHERE provolatile = 'v' ORDER BY 1";

// Every query above, prepared once per connection (planning these joins
// costs more than running them on a small schema).
struct NamedQuery {
  const char* name;
  const char* sql;
};
inline constexpr NamedQuery kPrepared[] = {
    {"schemad_schema_exists", kSchemaExists}, {"schemad_tables", kTables},
    {"schemad_columns", kColumns},            {"schemad_constraints", kConstraints},
    {"schemad_indexes", kIndexes},            {"schemad_index_lookups", kIndexLookups},
    {"schemad_enums", kEnums},                {"schemad_extensions", kExtensions},
    {"schemad_sequences", kSequences},
};

}  // namespace schemad::queries

#endif  // SCHEMAD_CATALOG_QUERIES_H_
