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

inline constexpr char kColumns[] = R"sql(
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       COALESCE(pg_get_expr(ad.adbin, ad.adrelid), ''), a.attidentity, a.attgenerated,
       COALESCE((SELECT s.relname FROM pg_depend d JOIN pg_class s ON s.oid = d.objid
                 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                   AND d.refobjid = c.oid AND d.refobjsubid = a.attnum AND d.deptype = 'a'
                   AND s.relkind = 'S' LIMIT 1), '')
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)
  AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum)sql";

inline constexpr char kConstraints[] = R"sql(
SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid), k.convalidated,
       ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, o)
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.o),
       COALESCE(f.relname, ''),
       ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, o)
             JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.o),
       k.confdeltype, k.confupdtype, k.condeferrable, k.condeferred,
       COALESCE(pg_get_expr(k.conbin, k.conrelid), '')
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
LEFT JOIN pg_class f ON f.oid = k.confrelid
WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)
  AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND k.contype IN ('p', 'u', 'f', 'c')
  AND k.conparentid = 0
ORDER BY c.relname, k.conname)sql";

// Indexes that no constraint owns. The definition is pg_get_indexdef()
// after "... USING ", the prefix computed with the same quoting PostgreSQL
// uses, so that it is schema-independent.
inline constexpr char kIndexes[] = R"sql(
SELECT t.relname, i.relname, x.indisunique, am.amname, x.indisvalid,
       substr(pg_get_indexdef(x.indexrelid),
              length(format('CREATE %sINDEX %s ON %s%s.%s USING ',
                            CASE WHEN x.indisunique THEN 'UNIQUE ' ELSE '' END,
                            quote_ident(i.relname),
                            CASE WHEN t.relkind = 'p' THEN 'ONLY ' ELSE '' END,
                            quote_ident(n.nspname), quote_ident(t.relname))) + 1),
       ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true)
             FROM generate_series(1, x.indnkeyatts) k ORDER BY k),
       ARRAY(SELECT COALESCE((SELECT a.attname FROM pg_attribute a
                              WHERE a.attrelid = x.indrelid AND a.attnum = x.indkey[k - 1]), '')
             FROM generate_series(1, x.indnatts) k ORDER BY k),
       ARRAY(SELECT CASE WHEN oc.opcdefault THEN '' ELSE oc.opcname END
             FROM generate_series(1, x.indnkeyatts) k
             JOIN pg_opclass oc ON oc.oid = x.indclass[k - 1] ORDER BY k),
       ARRAY(SELECT x.indoption[k - 1]::text FROM generate_series(1, x.indnkeyatts) k ORDER BY k),
       COALESCE(pg_get_expr(x.indpred, x.indrelid), ''),
       ARRAY(SELECT DISTINCT a.attname FROM pg_depend d
             JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = d.refobjsubid
             WHERE d.classid = 'pg_class'::regclass AND d.objid = x.indexrelid
               AND d.refclassid = 'pg_class'::regclass AND d.refobjid = x.indrelid
               AND d.refobjsubid > 0 ORDER BY 1),
       x.indnkeyatts
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = i.relam
WHERE n.nspname = $1 AND t.relkind IN ('r', 'p') AND NOT t.relispartition
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid
                  AND k.conrelid = x.indrelid AND k.contype IN ('p', 'u', 'x'))
ORDER BY t.relname, i.relname)sql";

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

}  // namespace schemad::queries

#endif  // SCHEMAD_CATALOG_QUERIES_H_
