/* view.c — the table of service views (see view.h). */
#include "secaudit/view.h"

#include <stdio.h>
#include <string.h>

/* "tree": the document as parsed. */
static int view_tree(sa_doc *doc, sa_node **out, sa_perr *err)
{
    (void)err;
    *out = doc->root;
    return 0;
}

static const sa_node *attr(const sa_node *el, const char *name)
{
    return sa_map_get(el, name, strlen(name));
}

/* "omero-config": etc/grid/config.xml as OMERO and IceGrid read it. The live values are the
 * <property name=… value=…/> children of <properties id="__ACTIVE__">; the view is a flat
 * map name → value (a missing value attribute means ""), each member positioned at its
 * <property> element (key) and at its value attribute (value). Without an __ACTIVE__ block
 * the view is empty and every key takes its default. */
static int view_omero_config(sa_doc *doc, sa_node **out, sa_perr *err)
{
    sa_node *view = sa_node_new(doc, SA_MAP, 0);
    if (view == NULL)
        goto oom;
    const sa_node *grid = doc->root ? sa_map_get(doc->root, "icegrid", 7) : NULL;
    const sa_node *active = NULL;
    if (grid && grid->type == SA_MAP) {
        view->off = view->key_off = grid->off;
        for (const sa_node *c = grid->first; c && active == NULL; c = c->next) {
            const sa_node *id;
            if (c->type == SA_MAP && strcmp(c->key, "properties") == 0 &&
                (id = attr(c, "@id")) && id->str && strcmp(id->str, "__ACTIVE__") == 0)
                active = c;
        }
    }
    if (active) {
        view->off = view->key_off = active->off;
        for (const sa_node *p = active->first; p; p = p->next) {
            if (p->type != SA_MAP || strcmp(p->key, "property") != 0)
                continue;
            const sa_node *name = attr(p, "@name"), *value = attr(p, "@value");
            if (name == NULL || name->str == NULL || name->len == 0)
                continue;
            sa_node *m = value && value->str
                             ? sa_node_scalar(doc, SA_STR, value->off, value->str, value->len)
                             : sa_node_scalar(doc, SA_STR, p->off, "", 0);
            if (m == NULL || sa_node_set_key(doc, m, name->str, name->len, p->off) < 0)
                goto oom;
            m->flags |= SA_NODE_SYNTH;
            sa_node_append(view, m);
        }
        if (sa_map_mark_dups(view) < 0)
            goto oom;
    }
    *out = view;
    return 0;
oom:
    err->off = 0;
    snprintf(err->msg, sizeof(err->msg), "%s",
             sa_doc_over_budget(doc) ? "document has too many nodes" : "out of memory");
    return -1;
}

static const sa_view views[] = {
    {"omero-config", view_omero_config,
     "OMERO config.xml: the __ACTIVE__ profile's properties as a flat name → value map"},
    {"tree", view_tree, "the document as parsed (the default)"},
};

const sa_view *sa_view_find(const char *name)
{
    for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
        if (strcmp(views[i].name, name) == 0)
            return &views[i];
    return NULL;
}
