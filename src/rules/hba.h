/* hba.h — pg_hba.conf first-match analysis: the named checks hba_dead_record and
 * hba_strict_shadowed (registered in checks.c), and the containment helpers they use,
 * exposed for the unit test (tests/unit/test_hba.c).
 *
 * PostgreSQL uses the first record whose type, database, user and address match a
 * connection. A later record L is dead when an earlier record E contains it on every field:
 * every connection L would match, E (or a record before E) matches first. Containment is
 * decided only where it is certain; what can only "possibly" be contained (a host name
 * under a range, a name under +role, @file, /regex) is not. */
#ifndef SECAUDIT_RULES_HBA_H
#define SECAUDIT_RULES_HBA_H

#include <stddef.h>
#include <stdint.h>

#include "rules/engine.h"

enum {
    SA_HBA_ADDR_BAD,    /* could not be read (the parser accepted it: not expected) */
    SA_HBA_ADDR_NONE,   /* a local record: no address */
    SA_HBA_ADDR_ALL,    /* the keyword all: every IPv4 and IPv6 address */
    SA_HBA_ADDR_V4,     /* an IPv4 range (CIDR or address + mask) */
    SA_HBA_ADDR_V6,     /* an IPv6 range */
    SA_HBA_ADDR_TOKEN   /* samehost, samenet or a host name: only the identical token */
};

typedef struct sa_hba_addr {
    unsigned char kind;        /* SA_HBA_ADDR_* */
    unsigned char plen;        /* V4/V6: the mask's leading one bits */
    unsigned char contiguous;  /* V4/V6: the mask is exactly plen leading ones */
    unsigned char quoted;      /* TOKEN: it was quoted */
    unsigned char net[16];     /* V4/V6: address & mask (4 or 16 bytes used) */
    unsigned char mask[16];
    const char *tok;           /* TOKEN: its text (borrowed) */
    size_t tok_len;
} sa_hba_addr;

/* Read an address field: addr[0..alen) as written (quoted: it was quoted), and the separate
 * mask field (NULL when there is none). Returns out->kind; SA_HBA_ADDR_BAD when the text is
 * not something the pg_hba parser accepts. */
int sa_hba_addr_parse(const char *addr, size_t alen, int quoted, const char *mask,
                      size_t mlen, sa_hba_addr *out);

/* 1 when every client address that l matches is matched by e: all ⊇ every IPv4 and IPv6
 * range and all; a range ⊇ a range of the same family it covers (any mask, also a
 * non-contiguous one); a token only the identical token. Else 0. */
int sa_hba_addr_contains(const sa_hba_addr *e, const sa_hba_addr *l);

enum { SA_HBA_FIELD_DB, SA_HBA_FIELD_USER };

/* 1 when the database (field SA_HBA_FIELD_DB) or user token e matches every connection that
 * token l matches. db: all ⊇ names, sameuser, samerole, samegroup, /regex, all — not
 * replication, not @file (the file may list replication); user: all ⊇ everything. Otherwise
 * only the identical token (a name is the same quoted or not; +role, @file, /regex and
 * keywords must also be quoted alike). */
int sa_hba_token_contains(int field, const char *e, size_t elen, int equoted, const char *l,
                          size_t llen, int lquoted);

/* The strength of a record's method (rules/README.md has the table): 0 trust; 1 password,
 * ident over TCP, ldap, radius, pam, bsd; 2 md5; 3 scram-sha-256, gss, sspi, peer, oauth,
 * ident on local (it is peer); 4 cert; 5 reject. clientcert=verify-ca raises it to at least
 * 3, clientcert=verify-full to at least 4 (reject stays 5). -1 for an unknown method. */
int sa_hba_method_strength(const char *method, int local, const char *clientcert);

/* The first-match analysis of a pg_hba "records" list (count elements in first and
 * strict): first[i] is the index of an earlier record that matches every connection record
 * i would (the earliest the index finds), SIZE_MAX when none is found; strict[i] is 1 when
 * that record's method is weaker than record i's and it is known to be the earliest such
 * record. naive = 1 tries every earlier record (quadratic: the reference the unit test
 * compares the index with). Records that are not host/local records get SIZE_MAX.
 * 0 or -1 (out of memory). */
int sa_hba_first_match(const sa_node *records, int naive, size_t *first,
                       unsigned char *strict);

/* The named checks (see checks.c). 0 or -1 (out of memory). */
int sa_hba_check_dead(sa_file_eval *fe, const sa_rule *rule);
int sa_hba_check_strict(sa_file_eval *fe, const sa_rule *rule);

#endif
