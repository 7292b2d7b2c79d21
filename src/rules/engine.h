/* engine.h — evaluates one service's rules against one file's view and appends findings.
 * Everything here is borrowed for the duration of one file's evaluation. */
#ifndef SECAUDIT_RULES_ENGINE_H
#define SECAUDIT_RULES_ENGINE_H

#include <sys/stat.h>

#include "secaudit/doc.h"
#include "secaudit/finding.h"
#include "secaudit/rules.h"

/* One file whose nodes the view holds. */
typedef struct sa_eval_file {
    const char *file;         /* display path */
    const char *rel;          /* relative to the scan root */
    const sa_linemap *lines;
    const struct stat *st;
    size_t seq;               /* order of the file in the walk */
    const sa_node *root;      /* the file's parsed tree (before any merge) */
} sa_eval_file;

typedef struct sa_file_eval {
    const sa_service *svc;
    const sa_node *tree;      /* the parsed tree: a file's root, or the merged root of a
                                 directory's files (services with `merge: directory`) */
    const sa_node *view;      /* the service's view of tree */
    const sa_eval_file *files;
    size_t n_files;           /* 1, or the files of a merged directory */
    const sa_node *const *members;  /* each node moved into tree from another file (the
                                       members of a merged directory, the first nodes of an
                                       included file) ... */
    const size_t *member_file;      /* ... and the index of the file it came from; a node
                                       belongs to the file of its nearest such ancestor */
    size_t n_members;
    sa_result *res;
    sa_arena *scratch;
    const struct sa_member_ix *member_ix;  /* set by sa_engine_run: members by address */
    /* What a named check computed, kept for another rule of the same evaluation (pg_hba's
     * two first-match rules share one analysis): memo_owner says which check made it; the
     * memory is the check's to manage in scratch. NULL at the start of an evaluation. */
    const void *memo_owner;
    void *memo;
} sa_file_eval;

/* The index (into fe->files) of the file that holds node n. */
size_t sa_engine_file_of(const sa_file_eval *fe, const sa_node *n);

/* Evaluate every rule of fe->svc. 0, or -1 when out of memory. */
int sa_engine_run(sa_file_eval *fe);

/* Append a finding of rule about node (positioned at its key when it is a map member, else at
 * the node). value is what the evidence shows (NULL: none); def is the default that supplied
 * it (NULL: the file set it). label names the key. 0 or -1 (out of memory). */
int sa_engine_emit(sa_file_eval *fe, const sa_rule *rule, const sa_node *pos,
                   const sa_node *value, const sa_default *def, const char *label);

/* As sa_engine_emit, with the evidence naming `what` instead of the label. */
int sa_engine_emit2(sa_file_eval *fe, const sa_rule *rule, const sa_node *pos,
                    const sa_node *value, const sa_default *def, const char *label,
                    const char *what);

/* As sa_engine_emit2, with `message` (not NULL) as the finding's message, used as it is: a
 * named check that fills placeholders of its own in the rule's template. */
int sa_engine_emit3(sa_file_eval *fe, const sa_rule *rule, const sa_node *pos,
                    const sa_node *value, const sa_default *def, const char *label,
                    const char *what, const char *message);

#endif
