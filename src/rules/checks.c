/* checks.c — the named C checks (see checks.h), one table. */
#include "rules/checks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secaudit/alloc.h"
#include "secaudit/expr.h"
#include "rules/hba.h"

/* duplicate_keys: a key written twice in the same map. Readers differ on which one wins
 * (jansson and most YAML readers keep the last), so a reviewer reading the first is misled;
 * one finding per earlier occurrence, pointing at it. */
static int check_duplicate_keys(sa_file_eval *fe, const sa_rule *rule)
{
    const sa_node *n = fe->tree;
    /* iterative pre-order walk (documents may be deep) */
    while (n != NULL) {
        if ((n->flags & SA_NODE_DUP) && n->key &&
            sa_engine_emit(fe, rule, n, n, NULL, n->key) < 0)
            return -1;
        if (n->first) {
            n = n->first;
            continue;
        }
        while (n && n->next == NULL)
            n = n->parent;
        if (n)
            n = n->next;
    }
    return 0;
}

/* readable_by_others: the file that sets the rule's `at` path (e.g. RegisteredUsers, a
 * password) to something non-empty can be read by every local user (mode o+r). In a merged directory, the file that
 * holds the value is the one judged. One finding, at the key. */
static int check_readable_by_others(sa_file_eval *fe, const sa_rule *rule)
{
    if (rule->at_path == NULL)
        return 0;
    sa_eval_ctx ctx = {.svc = fe->svc, .root = fe->view, .base = fe->view,
                       .scratch = fe->scratch};
    sa_resolved r;
    if (!sa_path_resolve(rule->at_path, &ctx, &r) || r.def != NULL)
        return 0;  /* the file does not set it */
    if ((r.node->type == SA_MAP || r.node->type == SA_LIST) ? r.node->count == 0
                                                            : r.node->len == 0)
        return 0;  /* nothing secret in it */
    const sa_eval_file *ef = &fe->files[sa_engine_file_of(fe, r.node)];
    if (ef->st == NULL || (ef->st->st_mode & S_IROTH) == 0)
        return 0;
    char what[128];
    snprintf(what, sizeof(what), "%s (file mode %04o)", rule->at,
             (unsigned)(ef->st->st_mode & 07777));
    return sa_engine_emit2(fe, rule, r.node, r.node, NULL, rule->at, what);
}

static int cmp_member(const void *a, const void *b)
{
    const sa_node *x = *(const sa_node *const *)a, *y = *(const sa_node *const *)b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x < y ? -1 : x > y);
}

/* keys_in_two_files: in a merged directory, a top-level key set in more than one file
 * (Orthanc refuses to start). One finding per later file, at its key, naming the first. */
static int check_keys_in_two_files(sa_file_eval *fe, const sa_rule *rule)
{
    if (fe->n_files < 2 || fe->n_members < 2)
        return 0;
    const sa_node **v = sa_malloc(fe->n_members * sizeof(*v));
    if (v == NULL)
        return -1;
    memcpy(v, fe->members, fe->n_members * sizeof(*v));
    qsort(v, fe->n_members, sizeof(*v), cmp_member);
    int rc = 0;
    for (size_t i = 0; i < fe->n_members && rc == 0;) {
        size_t j = i + 1;
        while (j < fe->n_members && strcmp(v[i]->key, v[j]->key) == 0)
            j++;
        /* the run v[i..j) shares a key: the first file in walk order sets it first */
        size_t first = i;
        for (size_t k = i + 1; k < j; k++)
            if (fe->files[sa_engine_file_of(fe, v[k])].seq <
                fe->files[sa_engine_file_of(fe, v[first])].seq)
                first = k;
        const sa_eval_file *ff = &fe->files[sa_engine_file_of(fe, v[first])];
        for (size_t k = i; k < j && rc == 0; k++) {
            if (sa_engine_file_of(fe, v[k]) == sa_engine_file_of(fe, v[first]))
                continue;  /* a repeat inside one file is duplicate_keys' business */
            unsigned line, col;
            sa_linemap_pos(ff->lines, v[first]->key_off, &line, &col);
            char what[512];
            snprintf(what, sizeof(what), "%s (also set in %s:%u)", v[k]->key, ff->file, line);
            rc = sa_engine_emit2(fe, rule, v[k], v[k], NULL, v[k]->key, what);
        }
        i = j;
    }
    sa_free(v);
    return rc;
}

static const sa_check checks[] = {
    {"duplicate_keys", check_duplicate_keys,
     "one finding per key that is written again later in the same map"},
    {"hba_dead_record", sa_hba_check_dead,
     "pg_hba.conf: one finding per record an earlier record always matches first (not the "
     "strict case below)"},
    {"hba_strict_shadowed", sa_hba_check_strict,
     "pg_hba.conf: one finding per record an earlier record with a weaker method always "
     "matches first"},
    {"keys_in_two_files", check_keys_in_two_files,
     "in a merged directory, one finding per top-level key set again in another file"},
    {"readable_by_others", check_readable_by_others,
     "the file that sets the rule's `at` path is readable by every local user (mode o+r)"},
};

const sa_check *sa_check_find(const char *name)
{
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
        if (strcmp(checks[i].name, name) == 0)
            return &checks[i];
    return NULL;
}

const sa_check *sa_check_table(size_t *n)
{
    *n = sizeof(checks) / sizeof(checks[0]);
    return checks;
}
