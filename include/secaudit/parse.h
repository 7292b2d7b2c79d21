/* parse.h — one parser per syntax, each filling an sa_doc with the same positioned tree.
 *
 * Every parser takes a doc made by sa_doc_new over the file's bytes, sets doc->root and
 * returns 0; or returns -1 and fills *err with the byte offset (or line:col) of the problem
 * and a sentence a user can act on. A parser never reads another file, never touches the
 * network, and stops at the doc's limits. On error the doc may hold a partial tree: the
 * caller frees it. Ownership: the tree lives in the doc's arena. */
#ifndef SECAUDIT_PARSE_H
#define SECAUDIT_PARSE_H

#include "secaudit/doc.h"

typedef struct sa_perr {
    size_t off;          /* byte offset of the problem (used when has_linecol is 0) */
    int has_linecol;     /* 1 when line/col below are set instead (from a library) */
    unsigned line, col;  /* 1-based */
    char msg[256];       /* "expected ',' or '}' after a member", no trailing period */
} sa_perr;

/* JSON with Orthanc's // and block comments and jansson's grammar. Objects become maps,
 * arrays lists. Duplicate keys are kept in order, the earlier ones flagged SA_NODE_DUP. */
int sa_parse_json(sa_doc *doc, sa_perr *err);
/* Call once before any thread starts (seeds jansson's hash). */
void sa_json_init(void);

/* YAML (first document) through libyaml's event API. Mappings become maps, sequences
 * lists; plain scalars true/false → SA_BOOL, null/~/empty → SA_NULL, numbers → SA_NUM,
 * the rest SA_STR; quoted scalars are always SA_STR. Aliases are copied within the
 * alias budget; an alias to a node that is not finished (a cycle) is an error. */
int sa_parse_yaml(sa_doc *doc, sa_perr *err);

/* XML through libxml2, hardened (no network, no external entities, documents declaring
 * entities refused). An element is a map keyed by its name: attributes are members
 * "@name" (SA_STR), child elements members keyed by their name, non-blank text a member
 * "#text". The root is a map with one member: the document element. */
int sa_parse_xml(sa_doc *doc, sa_perr *err);
/* Call once before any thread starts: libxml2 set-up and the deny-all entity loader. */
void sa_xml_init(void);
void sa_xml_cleanup(void);

/* INI and its dialects. The root is a map; keys before any section are its members; each
 * "[section]" is a map member (sections may repeat). Values are SA_STR (SA_NULL when a key
 * has no value). */
typedef enum sa_ini_dialect {
    SA_INI_GENERIC,     /* [sections], "=" or ":", "#"/";" comment lines, quotes stripped,
                           trailing "\" continues */
    SA_INI_SYSTEMD,     /* systemd.syntax(7): "#"/";" comment lines only, "=" only, "\"
                           continues (comment lines inside are skipped), a trailing "#" is
                           value, values kept as written; every Environment= line is also
                           split into a root member "env" (SA_NODE_SYNTH map VAR → value,
                           later settings after earlier ones) */
    SA_INI_ENV,         /* KEY=VALUE, optional "export ", shell-like quotes, "#" comments,
                           no sections; lines that are not assignments (shell code) are
                           skipped */
    SA_INI_PGCONF,      /* postgresql.conf: "=" optional, '…' with '' or \' escapes, "#"
                           anywhere outside quotes, no sections */
    SA_INI_PROPERTIES   /* Java/Ice properties: "=", ":" or blank, "#"/"!" comment lines,
                           "\" continues, no sections */
} sa_ini_dialect;
int sa_parse_ini(sa_doc *doc, sa_ini_dialect dialect, sa_perr *err);

/* Split one systemd Environment= value (a node sa_parse_ini made, so its text traces back to
 * file offsets) into VAR -> value members appended to out_map, duplicates marked. Returns the
 * number of members appended, or -1 when out of memory or over the node budget. */
int sa_systemd_env_split(sa_doc *doc, const sa_node *value, sa_node *out_map);

/* pg_hba.conf records. The root is a map with one member "records", a list; each record is
 * a map with members (each positioned at its field):
 *   type      "local" | "host" | "hostssl" | "hostnossl" | "hostgssenc" | "hostnogssenc"
 *   database  list of SA_STR (quoted ones flagged SA_NODE_QUOTED)
 *   user      list of SA_STR
 *   address   SA_STR (absent for local); "mask" SA_STR when written as IP + mask
 *   method    SA_STR
 *   options   map name → value
 *   reach     synthetic SA_STR: "local" (a local record), "loopback", "samehost",
 *             "world" (0.0.0.0/0, ::/0, all, or a mask of 0 bits), "remote" (anything else)
 *   text      synthetic SA_STR: the record's fields joined by single spaces
 * include lines are records of type "include", "include_if_exists" or "include_dir" with a
 * member "path". */
int sa_parse_pghba(sa_doc *doc, sa_perr *err);

/* nginx configuration files. The root is a map of the main context's directives; each
 * directive is a member keyed by its name (repeated names kept in order) whose value is a
 * list of its arguments (SA_STR, SA_NODE_QUOTED when quoted); a block directive's list ends
 * with a map of the block's directives. include directives are kept as written. */
int sa_parse_nginx(sa_doc *doc, sa_perr *err);

/* iptables-save / iptables-restore files (rules.v4, rules.v6, /etc/sysconfig/iptables). The
 * root is a map with one member "tables": table name → map with
 *   chains  map chain name (at the name) → {policy: "ACCEPT" | "DROP" | "-"} (at the policy;
 *           a chain made by -N has a synthetic policy "-")
 *   rules   list, in file order, of maps (each at its command -A/-I), members at their
 *           token (only those the rule has):
 *     chain, source, destination, protocol, in, out, jump, goto   SA_STR
 *     source_match  a source restriction other than -s (--src-range, --mac-source, a
 *                   --match-set ... src): the range, address or set name
 *     dports   list: --dport N|N:M, --dports/--destination-ports/--ports a,b,N:M (one
 *              element per item, at the item)
 *     state    list: --state / --ctstate items
 *     fragment, syn   SA_BOOL true (-f, --syn)
 *     negated  map: option key (source, dports, state, protocol, in, ...) → true, at the '!'
 *     other    SA_STR: the names of the options before -j that restrict the match and
 *              are not modelled (--sport, --limit, a second port or state match, ...),
 *              joined by spaces, at the first (-m itself and --comment are no condition)
 *     insert   SA_NUM: the position of an -I rule (1 when not written)
 *     line     synthetic SA_NUM: the rule's line number
 *     text     synthetic SA_STR: the rule from its command on, tokens as written, joined by
 *              single spaces, without counters
 * Errors: a '#' that is not in column 1, a table without COMMIT, a rule outside a table, an
 * unknown command (-D, -R, -P, ...), a bad policy or counters, an unclosed quote. */
int sa_parse_iptables(sa_doc *doc, sa_perr *err);

#endif
