/* Subcommands of the ipsecsim command. */
#ifndef TOOLS_CMDS_H
#define TOOLS_CMDS_H

#define EXIT_USAGE 2

int cmd_ipsecctl(int argc, char **argv);
extern const char ipsecctl_usage[];
int cmd_vectors(int argc, char **argv);
extern const char vectors_usage[];
int cmd_verify(int argc, char **argv);
extern const char verify_usage[];
int cmd_decap(int argc, char **argv);
extern const char decap_usage[];
int cmd_encap(int argc, char **argv);
extern const char encap_usage[];

#endif
