// Catalog queries: named constants, one per object kind, set-based (never
// one query per table).
//
// Deparsing a CHECK, a generated column or an index expression or predicate
// takes a lock on its table, so a table another session holds would make
// every read wait. Each such expression therefore comes with a key: a hash
// of its node tree, the search_path and the current names of everything it
// depends on (pg_describe_object over pg_depend: columns, types, functions,
// operators, collations). Keys the caller already knows are passed as $2
// (text[]) and their expressions are not deparsed (NULL): the caller reuses
// its text, and never a stale one, since any rename changes the key. The
// key is computed inside a CASE, so rows without an expression cost nothing
// (a LATERAL with a WHERE still ran its subquery for every row).
//
// Each query takes $1 = the schema name and reads pg_catalog directly,
// excluding extension-owned objects. Output text
// (types, defaults, definitions) is as PostgreSQL prints it under the
// caller's search_path.
// That search_path holds the target schema, where the table owner can
// create functions, operators and types: every function, operator,
// relation and type below is therefore qualified with pg_catalog
// (OPERATOR(pg_catalog.=), x OPERATOR(pg_catalog.=) ANY (...) for IN), so
// nothing planted there is ever called.
#ifndef SCHEMAD_CATALOG_QUERIES_H_
#define SCHEMAD_CATALOG_QUERIES_H_

namespace schemad::queries {

inline constexpr char kSchemaExists[] =
    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace "
    "WHERE nspname OPERATOR(pg_catalog.=) $1)";

inline constexpr char kTables[] = R"sql(
SELECT c.relname AS name,
       COALESCE((SELECT ds.description FROM pg_catalog.pg_description ds
                 WHERE ds.objoid OPERATOR(pg_catalog.=) c.oid
                   AND ds.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                   AND ds.objsubid OPERATOR(pg_catalog.=) 0), '') AS comment,
       c.relpersistence OPERATOR(pg_catalog.=) 'u' AS unlogged, c.relrowsecurity AS row_security,
       c.relforcerowsecurity AS force_row_security,
       COALESCE(c.reloptions, '{}'::pg_catalog.text[]) AS storage, c.relreplident AS replica_identity,
       CASE WHEN c.relreplident OPERATOR(pg_catalog.=) 'i' THEN
         COALESCE((SELECT ic.relname FROM pg_catalog.pg_index i
                   JOIN pg_catalog.pg_class ic ON ic.oid OPERATOR(pg_catalog.=) i.indexrelid
                   WHERE i.indrelid OPERATOR(pg_catalog.=) c.oid AND i.indisreplident), '')
       ELSE '' END AS replica_identity_index
FROM pg_catalog.pg_class c
WHERE c.relnamespace OPERATOR(pg_catalog.=)
      (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname OPERATOR(pg_catalog.=) $1)
  AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p}'::pg_catalog."char"[]) AND NOT c.relispartition
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                    AND d.objid OPERATOR(pg_catalog.=) c.oid
                    AND d.deptype OPERATOR(pg_catalog.=) 'e')
ORDER BY c.relname)sql";

// A default cannot reference columns, so it deparses without its relation
// (pg_get_expr(..., 0) takes no lock on it); a generated expression needs
// the relation for its column names. A serial column's sequence comes from
// kSequences (its OWNED BY), not from here. Identity sequences' options (an
// int8 array: increment, min, max, start, cache, cycle) are looked up only
// for identity columns, through pg_depend's referenced-object index: joins
// of every sequence to every column depended on catalog statistics, which
// lag right after a large Initialize (planned as a nested loop on a one-row
// estimate, 8x slower at 1,000 tables; a per-column lateral was planned as
// a scan per column). A column's collation, where it is not the default,
// comes back named, qualified when not visible.
inline constexpr char kColumns[] = R"sql(
SELECT c.relname AS table_name, a.attname AS name,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
       CASE WHEN ad.adbin IS NULL THEN ''
            WHEN a.attgenerated OPERATOR(pg_catalog.=) '' THEN pg_catalog.pg_get_expr(ad.adbin, 0)
            WHEN gk.key OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.text[]) THEN NULL
            ELSE pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) END AS expression,
       a.attidentity AS identity, a.attgenerated AS generated, a.attnum AS attnum,
       a.attcollation::pg_catalog.text AS collation_oid, gk.key AS expression_key,
       COALESCE(ds.description, '') AS comment,
       CASE WHEN a.attidentity OPERATOR(pg_catalog.<>) '' THEN
         (SELECT ARRAY[q.seqincrement, q.seqmin, q.seqmax, q.seqstart, q.seqcache,
                       q.seqcycle::pg_catalog.int4::pg_catalog.int8]
          FROM pg_catalog.pg_depend d
          JOIN pg_catalog.pg_sequence q ON q.seqrelid OPERATOR(pg_catalog.=) d.objid
          WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
            AND d.refobjid OPERATOR(pg_catalog.=) a.attrelid
            AND d.refobjsubid OPERATOR(pg_catalog.=) a.attnum
            AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
            AND d.deptype OPERATOR(pg_catalog.=) 'i'
          LIMIT 1)
       END AS identity_options,
       CASE WHEN a.attstorage OPERATOR(pg_catalog.=) ty.typstorage THEN ''
            ELSE a.attstorage::pg_catalog.text END AS storage,
       a.attcompression::pg_catalog.text AS compression, a.attstattarget AS statistics,
       ty.typstorage::pg_catalog.text AS type_storage,
       COALESCE(a.attoptions, '{}'::pg_catalog.text[]) AS options,
       CASE WHEN a.attcollation OPERATOR(pg_catalog.<>) ALL ('{0,100}'::pg_catalog.oid[]) THEN
         (SELECT CASE WHEN pg_catalog.pg_collation_is_visible(co.oid)
                      THEN pg_catalog.quote_ident(co.collname)
                      ELSE pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.'
                           OPERATOR(pg_catalog.||) pg_catalog.quote_ident(co.collname) END
          FROM pg_catalog.pg_collation co
          JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) co.collnamespace
          WHERE co.oid OPERATOR(pg_catalog.=) a.attcollation)
       END AS collation
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) a.attrelid
JOIN pg_catalog.pg_type ty ON ty.oid OPERATOR(pg_catalog.=) a.atttypid
LEFT JOIN pg_catalog.pg_description ds
       ON ds.objoid OPERATOR(pg_catalog.=) a.attrelid
      AND ds.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
      AND ds.objsubid OPERATOR(pg_catalog.=) a.attnum
LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid OPERATOR(pg_catalog.=) a.attrelid
                                  AND ad.adnum OPERATOR(pg_catalog.=) a.attnum
LEFT JOIN LATERAL (
  SELECT CASE WHEN a.attgenerated OPERATOR(pg_catalog.<>) '' AND ad.adbin IS NOT NULL
    THEN pg_catalog.md5(pg_catalog.concat_ws('|', ad.adbin::pg_catalog.text,
      pg_catalog.current_setting('search_path'),
      (SELECT pg_catalog.string_agg(
                pg_catalog.pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid), ','
                ORDER BY d.refclassid, d.refobjid, d.refobjsubid)
       FROM pg_catalog.pg_depend d
       WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_attrdef'::pg_catalog.regclass
         AND d.objid OPERATOR(pg_catalog.=) ad.oid)))
    END AS key) gk ON true
WHERE c.relnamespace OPERATOR(pg_catalog.=)
      (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname OPERATOR(pg_catalog.=) $1)
  AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,v,m}'::pg_catalog."char"[]) AND NOT c.relispartition
  AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum)sql";

// Constraints as structured fields; the definition text is composed from
// them in one place (catalog.cc), the same way for the live schema and the
// canonicalized registry. Only CHECK expressions are deparsed.
// Columns come back as attnums, mapped to names with kColumns' output.
inline constexpr char kConstraints[] = R"sql(
SELECT c.relname AS table_name, k.conname AS name, k.contype AS type,
       k.convalidated AS validated, k.conkey AS columns,
       COALESCE(f.relname, '') AS ref_table, COALESCE(fn.nspname, '') AS ref_schema,
       k.confkey AS ref_attnums, k.confdeltype AS on_delete,
       k.confupdtype AS on_update, k.confmatchtype AS match, k.condeferrable AS deferrable,
       k.condeferred AS deferred,
       CASE WHEN k.contype OPERATOR(pg_catalog.=) 'x' THEN pg_catalog.pg_get_constraintdef(k.oid)
            WHEN k.contype OPERATOR(pg_catalog.<>) 'c' THEN ''
            WHEN ck.key OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.text[]) THEN NULL
            ELSE pg_catalog.pg_get_expr(k.conbin, k.conrelid) END AS definition,
       k.connoinherit AS no_inherit,
       k.confdelsetcols AS delete_set_attnums,
       COALESCE(ix.indnullsnotdistinct, false) AS nulls_not_distinct,
       (ix.indkey::pg_catalog.int2[])[0:] AS index_attnums,
       COALESCE(ix.indnkeyatts, 0) AS index_key_count,
       COALESCE(ic.reloptions, '{}'::pg_catalog.text[]) AS storage,
       CASE WHEN k.contype OPERATOR(pg_catalog.=) 'f'
                 AND f.relnamespace OPERATOR(pg_catalog.<>) c.relnamespace THEN
         ARRAY(SELECT a.attname FROM pg_catalog.unnest(k.confkey) WITH ORDINALITY u(n, o)
               JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) k.confrelid
                                             AND a.attnum OPERATOR(pg_catalog.=) u.n
               ORDER BY u.o)
       END AS ref_column_names,
       ck.key AS definition_key,
       COALESCE((SELECT ds.description FROM pg_catalog.pg_description ds
                 WHERE ds.objoid OPERATOR(pg_catalog.=) k.oid
                   AND ds.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass
                   AND ds.objsubid OPERATOR(pg_catalog.=) 0), '') AS comment
FROM pg_catalog.pg_constraint k
JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) k.conrelid
LEFT JOIN LATERAL (
  SELECT CASE WHEN k.contype OPERATOR(pg_catalog.=) 'c'
    THEN pg_catalog.md5(pg_catalog.concat_ws('|', k.conbin::pg_catalog.text,
      pg_catalog.current_setting('search_path'),
      (SELECT pg_catalog.string_agg(
                pg_catalog.pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid), ','
                ORDER BY d.refclassid, d.refobjid, d.refobjsubid)
       FROM pg_catalog.pg_depend d
       WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass
         AND d.objid OPERATOR(pg_catalog.=) k.oid)))
    END AS key) ck ON true
LEFT JOIN pg_catalog.pg_class f ON f.oid OPERATOR(pg_catalog.=) k.confrelid
LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid OPERATOR(pg_catalog.=) f.relnamespace
LEFT JOIN pg_catalog.pg_index ix
  ON ix.indexrelid OPERATOR(pg_catalog.=) k.conindid
 AND k.contype OPERATOR(pg_catalog.=) ANY ('{p,u}'::pg_catalog."char"[])
LEFT JOIN pg_catalog.pg_class ic ON ic.oid OPERATOR(pg_catalog.=) ix.indexrelid
WHERE c.relnamespace OPERATOR(pg_catalog.=)
      (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname OPERATOR(pg_catalog.=) $1)
  AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p}'::pg_catalog."char"[]) AND NOT c.relispartition
  AND k.contype OPERATOR(pg_catalog.=) ANY ('{p,u,f,c,x}'::pg_catalog."char"[])
  AND k.conparentid OPERATOR(pg_catalog.=) 0
ORDER BY c.relname, k.conname)sql";

// Indexes that no constraint owns, as structured fields; the definition is
// composed in catalog.cc. Expression keys and predicates are deparsed;
// plain keys come back as attnums (indkey, 0 for an expression). The
// int2vector and oidvector columns are cast to arrays and sliced ([0:]):
// the cast keeps their lower bound of 0, which array text then spells out
// ("[0:1]={1,2}").
inline constexpr char kIndexes[] = R"sql(
SELECT t.relname AS table_name, i.relname AS name, x.indisunique AS is_unique, am.amname AS method,
       x.indisvalid AS valid, (x.indkey::pg_catalog.int2[])[0:] AS attnums, x.indnkeyatts AS key_count,
       CASE WHEN x.indexprs IS NULL THEN '{}'::pg_catalog.text[]
            WHEN ik.key OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.text[]) THEN NULL ELSE
         ARRAY(SELECT CASE WHEN x.indkey[k OPERATOR(pg_catalog.-) 1] OPERATOR(pg_catalog.=) 0
                           THEN pg_catalog.pg_get_indexdef(x.indexrelid, k, false) ELSE '' END
               FROM pg_catalog.generate_series(1, x.indnkeyatts) k ORDER BY k) END AS expressions,
       (x.indclass::pg_catalog.oid[])[0:] AS opclasses,
       (x.indoption::pg_catalog.int2[])[0:] AS key_options,
       (x.indcollation::pg_catalog.oid[])[0:] AS collations,
       CASE WHEN x.indpred IS NULL THEN ''
            WHEN ik.key OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.text[]) THEN NULL
            ELSE pg_catalog.pg_get_expr(x.indpred, x.indrelid) END AS predicate,
       CASE WHEN x.indexprs IS NULL AND x.indpred IS NULL THEN '{}'::pg_catalog.text[] ELSE
         ARRAY(SELECT DISTINCT a.attname FROM pg_catalog.pg_depend d
               JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) x.indrelid
                                             AND a.attnum OPERATOR(pg_catalog.=) d.refobjsubid
               WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                 AND d.objid OPERATOR(pg_catalog.=) x.indexrelid
                 AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                 AND d.refobjid OPERATOR(pg_catalog.=) x.indrelid
                 AND d.refobjsubid OPERATOR(pg_catalog.>) 0 ORDER BY 1) END AS referenced,
       x.indnullsnotdistinct AS nulls_not_distinct,
       COALESCE(i.reloptions, '{}'::pg_catalog.text[]) AS storage, ik.key AS expression_key,
       COALESCE((SELECT ds.description FROM pg_catalog.pg_description ds
                 WHERE ds.objoid OPERATOR(pg_catalog.=) i.oid
                   AND ds.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                   AND ds.objsubid OPERATOR(pg_catalog.=) 0), '') AS comment
FROM pg_catalog.pg_index x
JOIN pg_catalog.pg_class i ON i.oid OPERATOR(pg_catalog.=) x.indexrelid
JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) x.indrelid
JOIN pg_catalog.pg_am am ON am.oid OPERATOR(pg_catalog.=) i.relam
LEFT JOIN LATERAL (
  SELECT CASE WHEN x.indexprs IS NOT NULL OR x.indpred IS NOT NULL
    THEN pg_catalog.md5(pg_catalog.concat_ws('|', 'e', x.indexprs::pg_catalog.text,
      'p', x.indpred::pg_catalog.text,
      pg_catalog.current_setting('search_path'),
      (SELECT pg_catalog.string_agg(
                pg_catalog.pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid), ','
                ORDER BY d.refclassid, d.refobjid, d.refobjsubid)
       FROM pg_catalog.pg_depend d
       WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
         AND d.objid OPERATOR(pg_catalog.=) x.indexrelid)))
    END AS key) ik ON true
WHERE t.relnamespace OPERATOR(pg_catalog.=)
      (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname OPERATOR(pg_catalog.=) $1)
  AND t.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,m}'::pg_catalog."char"[]) AND NOT t.relispartition
  AND NOT (x.indexrelid OPERATOR(pg_catalog.=) ANY
           (SELECT k.conindid FROM pg_catalog.pg_constraint k
            WHERE k.contype OPERATOR(pg_catalog.=) ANY ('{p,u,x}'::pg_catalog."char"[])
              AND k.conindid OPERATOR(pg_catalog.<>) 0))
ORDER BY t.relname, i.relname)sql";

// Names of the operator classes and collations that index definitions
// must spell out: non-default operator classes, and the collations indexes
// of the schema use (columns' come with kColumns). Qualified when not
// visible in search_path.
inline constexpr char kIndexLookups[] = R"sql(
SELECT 'o' AS kind, oc.oid::pg_catalog.text AS oid,
       CASE WHEN pg_catalog.pg_opclass_is_visible(oc.oid) THEN pg_catalog.quote_ident(oc.opcname)
            ELSE pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.'
                 OPERATOR(pg_catalog.||) pg_catalog.quote_ident(oc.opcname) END AS name
FROM pg_catalog.pg_opclass oc
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) oc.opcnamespace
WHERE NOT oc.opcdefault
UNION ALL
SELECT 'c', co.oid::pg_catalog.text,
       CASE WHEN pg_catalog.pg_collation_is_visible(co.oid)
            THEN pg_catalog.quote_ident(co.collname)
            ELSE pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.'
                 OPERATOR(pg_catalog.||) pg_catalog.quote_ident(co.collname) END
FROM pg_catalog.pg_collation co
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) co.collnamespace
WHERE co.oid OPERATOR(pg_catalog.=) ANY
      (SELECT pg_catalog.unnest(x.indcollation::pg_catalog.oid[]) FROM pg_catalog.pg_index x
       JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) x.indrelid
       WHERE t.relnamespace OPERATOR(pg_catalog.=)
             (SELECT oid FROM pg_catalog.pg_namespace
              WHERE nspname OPERATOR(pg_catalog.=) $1)))sql";

inline constexpr char kEnums[] = R"sql(
SELECT t.typname AS name,
       ARRAY(SELECT e.enumlabel FROM pg_catalog.pg_enum e
             WHERE e.enumtypid OPERATOR(pg_catalog.=) t.oid
             ORDER BY e.enumsortorder) AS labels,
       COALESCE((SELECT ds.description FROM pg_catalog.pg_description ds
                 WHERE ds.objoid OPERATOR(pg_catalog.=) t.oid
                   AND ds.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass
                   AND ds.objsubid OPERATOR(pg_catalog.=) 0), '') AS comment
FROM pg_catalog.pg_type t
WHERE t.typnamespace OPERATOR(pg_catalog.=)
      (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname OPERATOR(pg_catalog.=) $1)
  AND t.typtype OPERATOR(pg_catalog.=) 'e'
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass
                    AND d.objid OPERATOR(pg_catalog.=) t.oid
                    AND d.deptype OPERATOR(pg_catalog.=) 'e')
ORDER BY t.typname)sql";

// Extensions are database-wide; plpgsql is built in.
inline constexpr char kExtensions[] = R"sql(
SELECT e.extname AS name, n.nspname AS schema FROM pg_catalog.pg_extension e
JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
WHERE e.extname OPERATOR(pg_catalog.<>) 'plpgsql' AND $1::pg_catalog.text IS NOT NULL
ORDER BY e.extname)sql";

// Sequences no identity or extension owns, with their options and the
// column that owns them (OWNED BY), if any. The caller makes a serial
// column's sequence part of its column, from OWNED BY. Plain joins on
// pg_depend's indexes: inside a transaction that created thousands of
// objects the catalog statistics lag, and a correlated subquery per
// sequence was measured at over 40 s for 1,200 tables.
inline constexpr char kSequences[] = R"sql(
SELECT s.relname AS name, pg_catalog.format_type(q.seqtypid, NULL) AS type,
       q.seqincrement AS increment, q.seqmin AS min_value, q.seqmax AS max_value,
       q.seqstart AS start, q.seqcache AS cache, q.seqcycle AS cycle,
       t.relname AS owned_by_table, a.attname AS owned_by_column,
       COALESCE((SELECT ds.description FROM pg_catalog.pg_description ds
                 WHERE ds.objoid OPERATOR(pg_catalog.=) s.oid
                   AND ds.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                   AND ds.objsubid OPERATOR(pg_catalog.=) 0), '') AS comment
FROM pg_catalog.pg_class s
JOIN pg_catalog.pg_sequence q ON q.seqrelid OPERATOR(pg_catalog.=) s.oid
LEFT JOIN pg_catalog.pg_depend d
       ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
      AND d.objid OPERATOR(pg_catalog.=) s.oid
      AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
      AND d.deptype OPERATOR(pg_catalog.=) ANY ('{a,i,e}'::pg_catalog."char"[])
LEFT JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) d.refobjid
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) d.refobjid
                                   AND a.attnum OPERATOR(pg_catalog.=) d.refobjsubid
WHERE s.relnamespace OPERATOR(pg_catalog.=)
      (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname OPERATOR(pg_catalog.=) $1)
  AND s.relkind OPERATOR(pg_catalog.=) 'S'
  AND (d.deptype IS NULL OR d.deptype OPERATOR(pg_catalog.=) 'a')
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend x
                  WHERE x.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                    AND x.objid OPERATOR(pg_catalog.=) s.oid
                    AND x.deptype OPERATOR(pg_catalog.=) 'e')
ORDER BY s.relname)sql";

// Objects of kinds schemad does not manage yet, in the schema (and not an
// extension's): kind, name, table.
inline constexpr char kUnmanaged[] = R"sql(
SELECT CASE c.relkind WHEN 'f' THEN 'foreign_table' ELSE 'composite_type' END AS kind,
       c.relname::pg_catalog.text AS name, '' AS table_name
FROM pg_catalog.pg_class c
WHERE c.relnamespace OPERATOR(pg_catalog.=) (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) $1)
  AND c.relkind OPERATOR(pg_catalog.=) ANY ('{f,c}'::pg_catalog."char"[])
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                  WHERE e.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                    AND e.objid OPERATOR(pg_catalog.=) c.oid
                    AND e.deptype OPERATOR(pg_catalog.=) 'e')
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type t JOIN pg_catalog.pg_depend e
                    ON e.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass
                   AND e.objid OPERATOR(pg_catalog.=) t.oid
                   AND e.deptype OPERATOR(pg_catalog.=) 'e'
                  WHERE t.typrelid OPERATOR(pg_catalog.=) c.oid)
UNION ALL
SELECT 'trigger', c.relname::pg_catalog.text OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||)
         tg.tgname::pg_catalog.text, c.relname::pg_catalog.text
FROM pg_catalog.pg_trigger tg JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) tg.tgrelid
WHERE c.relnamespace OPERATOR(pg_catalog.=) (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) $1) AND NOT tg.tgisinternal
  AND c.relkind OPERATOR(pg_catalog.<>) ALL ('{r,p,v}'::pg_catalog."char"[])
UNION ALL
SELECT 'policy', c.relname::pg_catalog.text OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||)
         po.polname::pg_catalog.text, c.relname::pg_catalog.text
FROM pg_catalog.pg_policy po JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) po.polrelid
WHERE c.relnamespace OPERATOR(pg_catalog.=) (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) $1)
UNION ALL
SELECT 'rule', c.relname::pg_catalog.text OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||)
         r.rulename::pg_catalog.text, c.relname::pg_catalog.text
FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) r.ev_class
WHERE c.relnamespace OPERATOR(pg_catalog.=) (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) $1)
  AND r.rulename OPERATOR(pg_catalog.<>) '_RETURN'
UNION ALL
SELECT 'domain', t.typname::pg_catalog.text, ''
FROM pg_catalog.pg_type t
WHERE t.typnamespace OPERATOR(pg_catalog.=) (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) $1)
  AND t.typtype OPERATOR(pg_catalog.=) 'd'
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                  WHERE e.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass
                    AND e.objid OPERATOR(pg_catalog.=) t.oid
                    AND e.deptype OPERATOR(pg_catalog.=) 'e')
UNION ALL
SELECT 'inheritance', c.relname::pg_catalog.text OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||)
         pg_catalog.quote_ident(pn.nspname) OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||)
         pg_catalog.quote_ident(p.relname), c.relname::pg_catalog.text
FROM pg_catalog.pg_inherits i
JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid
JOIN pg_catalog.pg_class p ON p.oid OPERATOR(pg_catalog.=) i.inhparent
JOIN pg_catalog.pg_namespace pn ON pn.oid OPERATOR(pg_catalog.=) p.relnamespace
WHERE c.relnamespace OPERATOR(pg_catalog.=) (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) $1)
  AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,f}'::pg_catalog."char"[]) AND NOT c.relispartition
UNION ALL
SELECT 'partitioning', c.relname::pg_catalog.text, ''
FROM pg_catalog.pg_class c
WHERE c.relnamespace OPERATOR(pg_catalog.=) (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) $1)
  AND c.relkind OPERATOR(pg_catalog.=) 'p' AND NOT c.relispartition
UNION ALL
SELECT 'partition', p.relname::pg_catalog.text OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||)
         c.relname::pg_catalog.text, p.relname::pg_catalog.text
FROM pg_catalog.pg_inherits i
JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid
JOIN pg_catalog.pg_class p ON p.oid OPERATOR(pg_catalog.=) i.inhparent
WHERE c.relnamespace OPERATOR(pg_catalog.=) (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) $1)
  AND c.relispartition
UNION ALL
SELECT 'statistics', s.stxname::pg_catalog.text, ''
FROM pg_catalog.pg_statistic_ext s
WHERE s.stxnamespace OPERATOR(pg_catalog.=) (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) $1)
ORDER BY 1, 2)sql";

// Views and materialized views. The definition is deparsed under the same
// key scheme as expressions (the rule's node tree, search_path, and the
// names of everything it depends on): pg_get_viewdef locks the tables the
// view reads. Dependencies: the relations of the same schema the view
// reads ("t") and each of their columns ("t.c").
inline constexpr char kViews[] = R"sql(
SELECT c.relname AS name, c.relkind OPERATOR(pg_catalog.=) 'm' AS materialized,
       CASE WHEN vk.key OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.text[]) THEN NULL
            ELSE pg_catalog.pg_get_viewdef(c.oid, true) END AS query,
       COALESCE(c.reloptions, '{}'::pg_catalog.text[]) AS options,
       COALESCE((SELECT ds.description FROM pg_catalog.pg_description ds
                 WHERE ds.objoid OPERATOR(pg_catalog.=) c.oid
                   AND ds.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                   AND ds.objsubid OPERATOR(pg_catalog.=) 0), '') AS comment,
       ARRAY(SELECT DISTINCT x.name
             FROM pg_catalog.pg_rewrite w
             JOIN pg_catalog.pg_depend d
               ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
              AND d.objid OPERATOR(pg_catalog.=) w.oid
              AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
              AND d.refobjid OPERATOR(pg_catalog.<>) c.oid
             JOIN pg_catalog.pg_class r ON r.oid OPERATOR(pg_catalog.=) d.refobjid
             LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) r.oid
                                                AND a.attnum OPERATOR(pg_catalog.=) d.refobjsubid
             CROSS JOIN LATERAL (VALUES (r.relname::pg_catalog.text),
               (CASE WHEN d.refobjsubid OPERATOR(pg_catalog.>) 0
                     THEN r.relname::pg_catalog.text OPERATOR(pg_catalog.||) '.'
                          OPERATOR(pg_catalog.||) a.attname::pg_catalog.text END)) x(name)
             WHERE w.ev_class OPERATOR(pg_catalog.=) c.oid
               AND r.relnamespace OPERATOR(pg_catalog.=) c.relnamespace
               AND x.name IS NOT NULL
             ORDER BY 1) AS depends_on,
       vk.key AS query_key
FROM pg_catalog.pg_class c
LEFT JOIN LATERAL (
  SELECT pg_catalog.md5(pg_catalog.concat_ws('|', 'v', w.ev_action::pg_catalog.text,
      pg_catalog.current_setting('search_path'),
      (SELECT pg_catalog.string_agg(
                pg_catalog.pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid), ','
                ORDER BY d.refclassid, d.refobjid, d.refobjsubid)
       FROM pg_catalog.pg_depend d
       WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
         AND d.objid OPERATOR(pg_catalog.=) w.oid))) AS key
  FROM pg_catalog.pg_rewrite w
  WHERE w.ev_class OPERATOR(pg_catalog.=) c.oid AND w.rulename OPERATOR(pg_catalog.=) '_RETURN') vk
  ON true
WHERE c.relnamespace OPERATOR(pg_catalog.=)
      (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname OPERATOR(pg_catalog.=) $1)
  AND c.relkind OPERATOR(pg_catalog.=) ANY ('{v,m}'::pg_catalog."char"[])
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                  WHERE e.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                    AND e.objid OPERATOR(pg_catalog.=) c.oid
                    AND e.deptype OPERATOR(pg_catalog.=) 'e')
ORDER BY c.relname)sql";

// Functions and procedures, and aggregates and window functions (prokind
// a, w: reported as unmanaged), in one scan of pg_proc (it has no index by
// schema). The model sorts them. What depends on a function is read only
// when a plan changes it (kFunctionDependents). Catalog reads run with jit
// off: this query's estimated cost once passed jit_above_cost, and JIT
// compilation cost 90 ms on an empty schema.
inline constexpr char kFunctions[] = R"sql(
SELECT p.proname AS name, pg_catalog.pg_get_function_arguments(p.oid) AS arguments,
       pg_catalog.oidvectortypes(p.proargtypes) AS identity,
       CASE WHEN p.prokind OPERATOR(pg_catalog.=) 'p' THEN ''
            ELSE pg_catalog.pg_get_function_result(p.oid) END AS returns,
       l.lanname AS language, p.prosqlbody IS NOT NULL AS sql_body,
       CASE WHEN p.prosqlbody IS NULL THEN p.prosrc
            ELSE pg_catalog.pg_get_function_sqlbody(p.oid) END AS body,
       p.provolatile AS volatility, p.proisstrict AS strict, p.prosecdef AS security_definer,
       p.proparallel AS parallel, COALESCE(p.proconfig, '{}'::pg_catalog.text[]) AS config,
       p.prokind OPERATOR(pg_catalog.=) 'p' AS procedure,
       COALESCE((SELECT ds.description FROM pg_catalog.pg_description ds
                 WHERE ds.objoid OPERATOR(pg_catalog.=) p.oid
                   AND ds.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
                   AND ds.objsubid OPERATOR(pg_catalog.=) 0), '') AS comment,
       p.prokind AS kind, p.proleakproof AS leakproof, p.procost AS cost, p.prorows AS rows,
       p.proretset AS returns_set
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_language l ON l.oid OPERATOR(pg_catalog.=) p.prolang
WHERE p.pronamespace OPERATOR(pg_catalog.=)
      (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname OPERATOR(pg_catalog.=) $1)
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                  WHERE e.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
                    AND e.objid OPERATOR(pg_catalog.=) p.oid
                    AND e.deptype OPERATOR(pg_catalog.=) 'e'))sql";

// What in the schema uses the function $1 ("schema.name(argument types)"):
// "index:<name>", "constraint:<table>.<name>", "column:<table>.<column>" (a
// default or generated expression), "view:<name>", "trigger:<table>.<name>".
inline constexpr char kFunctionDependents[] = R"sql(
SELECT DISTINCT x.name FROM pg_catalog.pg_depend d
       CROSS JOIN LATERAL (SELECT CASE
         WHEN d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass THEN
           (SELECT 'index:' OPERATOR(pg_catalog.||) i.relname::pg_catalog.text
            FROM pg_catalog.pg_class i WHERE i.oid OPERATOR(pg_catalog.=) d.objid
              AND i.relkind OPERATOR(pg_catalog.=) ANY ('{i,I}'::pg_catalog."char"[]))
         WHEN d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass THEN
           (SELECT 'constraint:' OPERATOR(pg_catalog.||) t.relname::pg_catalog.text
                   OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) k.conname::pg_catalog.text
            FROM pg_catalog.pg_constraint k
            JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) k.conrelid
            WHERE k.oid OPERATOR(pg_catalog.=) d.objid)
         WHEN d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_attrdef'::pg_catalog.regclass THEN
           (SELECT 'column:' OPERATOR(pg_catalog.||) t.relname::pg_catalog.text
                   OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) a.attname::pg_catalog.text
            FROM pg_catalog.pg_attrdef ad
            JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) ad.adrelid
            JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) ad.adrelid
                                          AND a.attnum OPERATOR(pg_catalog.=) ad.adnum
            WHERE ad.oid OPERATOR(pg_catalog.=) d.objid)
         WHEN d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass THEN
           (SELECT 'view:' OPERATOR(pg_catalog.||) v.relname::pg_catalog.text
            FROM pg_catalog.pg_rewrite w
            JOIN pg_catalog.pg_class v ON v.oid OPERATOR(pg_catalog.=) w.ev_class
            WHERE w.oid OPERATOR(pg_catalog.=) d.objid)
         WHEN d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass THEN
           (SELECT 'trigger:' OPERATOR(pg_catalog.||) t.relname::pg_catalog.text
                   OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) g.tgname::pg_catalog.text
            FROM pg_catalog.pg_trigger g
            JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) g.tgrelid
            WHERE g.oid OPERATOR(pg_catalog.=) d.objid)
         END AS name) x
       WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
         AND d.refobjid OPERATOR(pg_catalog.=) $1::pg_catalog.regprocedure
         AND d.deptype OPERATOR(pg_catalog.=) 'n' AND x.name IS NOT NULL
       ORDER BY 1)sql";

// Triggers of the schema's tables (not internal ones: those of foreign
// keys), with the columns each reads. pg_get_triggerdef locks the table
// (for a WHEN condition): the definition comes under the same key scheme as
// expressions, the key covering everything it prints (name, table, type
// bits, arguments, columns, condition, deferral, the names of the function
// and columns it depends on, search_path).
inline constexpr char kTriggers[] = R"sql(
SELECT c.relname AS table_name, g.tgname AS name,
       CASE WHEN tk.key OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.text[]) THEN NULL
            ELSE pg_catalog.pg_get_triggerdef(g.oid, true) END AS definition,
       g.tgconstraint OPERATOR(pg_catalog.<>) 0 AS is_constraint, g.tgenabled AS enabled,
       COALESCE((SELECT ds.description FROM pg_catalog.pg_description ds
                 WHERE ds.objoid OPERATOR(pg_catalog.=) g.oid
                   AND ds.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass
                   AND ds.objsubid OPERATOR(pg_catalog.=) 0), '') AS comment,
       ARRAY(SELECT DISTINCT c.relname::pg_catalog.text OPERATOR(pg_catalog.||) '.'
                             OPERATOR(pg_catalog.||) a.attname::pg_catalog.text
             FROM pg_catalog.pg_depend d
             JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) d.refobjid
                                           AND a.attnum OPERATOR(pg_catalog.=) d.refobjsubid
             WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass
               AND d.objid OPERATOR(pg_catalog.=) g.oid
               AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
               AND d.refobjid OPERATOR(pg_catalog.=) c.oid
               AND d.refobjsubid OPERATOR(pg_catalog.>) 0
             ORDER BY 1) AS depends_on,
       tk.key AS definition_key
FROM pg_catalog.pg_trigger g
JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) g.tgrelid
LEFT JOIN LATERAL (
  SELECT pg_catalog.md5(pg_catalog.concat_ws('|', 'g', g.tgname, c.relname,
      g.tgtype::pg_catalog.text, g.tgargs::pg_catalog.text, g.tgattr::pg_catalog.text,
      g.tgqual::pg_catalog.text, g.tgdeferrable::pg_catalog.text,
      g.tginitdeferred::pg_catalog.text, (g.tgconstraint OPERATOR(pg_catalog.<>) 0)::pg_catalog.text,
      pg_catalog.current_setting('search_path'),
      (SELECT pg_catalog.string_agg(
                pg_catalog.pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid), ','
                ORDER BY d.refclassid, d.refobjid, d.refobjsubid)
       FROM pg_catalog.pg_depend d
       WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass
         AND d.objid OPERATOR(pg_catalog.=) g.oid))) AS key) tk ON true
WHERE c.relnamespace OPERATOR(pg_catalog.=)
      (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname OPERATOR(pg_catalog.=) $1)
  AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,v}'::pg_catalog."char"[]) AND NOT c.relispartition
  AND NOT g.tgisinternal
ORDER BY 1, 2)sql";

// What depends on a column ($3) or a whole table ($3 = '') that a
// plan would drop or retype and schemad does not manage: views and rules
// (through pg_rewrite), policies (on another table, or on a column the
// plan drops or retypes), and foreign keys of tables in other schemas.
inline constexpr char kDependents[] = R"sql(
SELECT DISTINCT CASE WHEN d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
         THEN (SELECT CASE v.relkind WHEN 'm' THEN 'materialized view ' ELSE 'view ' END
                      OPERATOR(pg_catalog.||) vn.nspname::pg_catalog.text
                      OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) v.relname::pg_catalog.text
               FROM pg_catalog.pg_rewrite r
               JOIN pg_catalog.pg_class v ON v.oid OPERATOR(pg_catalog.=) r.ev_class
               JOIN pg_catalog.pg_namespace vn ON vn.oid OPERATOR(pg_catalog.=) v.relnamespace
               WHERE r.oid OPERATOR(pg_catalog.=) d.objid AND v.oid OPERATOR(pg_catalog.<>) $2::pg_catalog.regclass)
         WHEN d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_policy'::pg_catalog.regclass
         THEN (SELECT 'policy ' OPERATOR(pg_catalog.||) p.polname::pg_catalog.text
                      OPERATOR(pg_catalog.||) ' on ' OPERATOR(pg_catalog.||) pn.nspname::pg_catalog.text
                      OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) pc.relname::pg_catalog.text
               FROM pg_catalog.pg_policy p
               JOIN pg_catalog.pg_class pc ON pc.oid OPERATOR(pg_catalog.=) p.polrelid
               JOIN pg_catalog.pg_namespace pn ON pn.oid OPERATOR(pg_catalog.=) pc.relnamespace
               WHERE p.oid OPERATOR(pg_catalog.=) d.objid
                 AND ($3 OPERATOR(pg_catalog.<>) '' OR pc.oid OPERATOR(pg_catalog.<>) $2::pg_catalog.regclass))
         ELSE (SELECT 'foreign key ' OPERATOR(pg_catalog.||) k.conname::pg_catalog.text
                      OPERATOR(pg_catalog.||) ' of ' OPERATOR(pg_catalog.||) kn.nspname::pg_catalog.text
                      OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) kc.relname::pg_catalog.text
               FROM pg_catalog.pg_constraint k
               JOIN pg_catalog.pg_class kc ON kc.oid OPERATOR(pg_catalog.=) k.conrelid
               JOIN pg_catalog.pg_namespace kn ON kn.oid OPERATOR(pg_catalog.=) kc.relnamespace
               WHERE k.oid OPERATOR(pg_catalog.=) d.objid AND kn.nspname OPERATOR(pg_catalog.<>) $1)
       END
FROM pg_catalog.pg_depend d
WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
  AND d.refobjid OPERATOR(pg_catalog.=) $2::pg_catalog.regclass
  AND ($3 OPERATOR(pg_catalog.=) '' OR d.refobjsubid OPERATOR(pg_catalog.=)
       (SELECT a.attnum FROM pg_catalog.pg_attribute a
        WHERE a.attrelid OPERATOR(pg_catalog.=) $2::pg_catalog.regclass
          AND a.attname OPERATOR(pg_catalog.=) $3))
  AND d.deptype OPERATOR(pg_catalog.=) 'n'
  AND d.classid OPERATOR(pg_catalog.=) ANY (ARRAY['pg_catalog.pg_rewrite'::pg_catalog.regclass,
                                                   'pg_catalog.pg_constraint'::pg_catalog.regclass,
                                                   'pg_catalog.pg_policy'::pg_catalog.regclass])
ORDER BY 1)sql";

// The functions of a (scratch) schema in the order they were created.
inline constexpr char kFunctionsByOid[] =
    "SELECT p.proname::pg_catalog.text OPERATOR(pg_catalog.||) '(' OPERATOR(pg_catalog.||) "
    "pg_catalog.oidvectortypes(p.proargtypes) OPERATOR(pg_catalog.||) ')' AS key, "
    "l.lanname AS language, p.oid AS oid FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l "
    "ON l.oid OPERATOR(pg_catalog.=) "
    "p.prolang WHERE p.pronamespace OPERATOR(pg_catalog.=) (SELECT oid FROM "
    "pg_catalog.pg_namespace WHERE nspname OPERATOR(pg_catalog.=) $1) AND NOT EXISTS (SELECT 1 "
    "FROM pg_catalog.pg_depend e WHERE e.classid OPERATOR(pg_catalog.=) "
    "'pg_catalog.pg_proc'::pg_catalog.regclass AND e.objid OPERATOR(pg_catalog.=) p.oid AND "
    "e.deptype OPERATOR(pg_catalog.=) 'e') ORDER BY p.oid";

inline constexpr char kVolatileFunctions[] =
    "SELECT DISTINCT proname FROM pg_catalog.pg_proc "
    "WHERE provolatile OPERATOR(pg_catalog.=) 'v' ORDER BY 1";

// Every query above, prepared once per connection (planning these joins
// costs more than running them on a small schema).
struct NamedQuery {
  const char* name;
  const char* sql;
};
inline constexpr NamedQuery kPrepared[] = {
    {"schemad_schema_exists", kSchemaExists},
    {"schemad_tables", kTables},
    {"schemad_columns", kColumns},
    {"schemad_constraints", kConstraints},
    {"schemad_indexes", kIndexes},
    {"schemad_index_lookups", kIndexLookups},
    {"schemad_enums", kEnums},
    {"schemad_extensions", kExtensions},
    {"schemad_sequences", kSequences},
    {"schemad_unmanaged", kUnmanaged},
    {"schemad_views", kViews},
    {"schemad_functions", kFunctions},
    {"schemad_triggers", kTriggers},
};

}  // namespace schemad::queries

#endif  // SCHEMAD_CATALOG_QUERIES_H_
