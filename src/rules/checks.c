/* checks.c — the named C checks (see checks.h), one table. */
#include "rules/checks.h"

#include <string.h>

/* duplicate_keys: a key written twice in the same map. Readers differ on which one wins
 * (jansson and most YAML readers keep the last), so a reviewer reading the first is misled;
 * one finding per earlier occurrence, pointing at it. */
static int check_duplicate_keys(sa_file_eval *fe, const sa_rule *rule)
{
    const sa_node *n = fe->doc->root;
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

static const sa_check checks[] = {
    {"duplicate_keys", check_duplicate_keys,
     "one finding per key that is written again later in the same map"},
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
