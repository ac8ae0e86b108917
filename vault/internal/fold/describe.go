package fold

import (
	"fmt"
	"strings"
)

// intent says in a sentence what an operation tried to do, for one that
// was refused (an accepted one says what it did).
func intent(kind, who, target string) string {
	if target == "" {
		target = "a secret"
		if strings.HasPrefix(kind, "member.") {
			target = "a member"
		}
	}
	switch kind {
	case KindCreate:
		return who + " tried to create the vault again"
	case KindMemberAdd:
		return fmt.Sprintf("%s tried to add %s", who, target)
	case KindMemberEdit:
		return fmt.Sprintf("%s tried to change %s", who, target)
	case KindMemberRemove:
		return fmt.Sprintf("%s tried to remove %s", who, target)
	case KindMemberRekey:
		return fmt.Sprintf("%s tried to replace %s's key", who, target)
	case KindRekeyRequest:
		return who + " tried to ask for a new key"
	case KindRekey:
		return who + " tried to issue a new vault key"
	case KindGrant:
		return who + " tried to give out vault keys"
	case KindReview:
		return who + " tried to mark the access review done"
	case KindActive:
		return who + " used the vault"
	case KindSecretAdd:
		return fmt.Sprintf("%s tried to add %s", who, target)
	case KindSecretEdit:
		return fmt.Sprintf("%s tried to change %s", who, target)
	case KindSecretShare:
		return fmt.Sprintf("%s tried to change who reads %s", who, target)
	case KindSecretSet:
		return fmt.Sprintf("%s tried to set a new value for %s", who, target)
	case KindRotate:
		return fmt.Sprintf("%s tried to start rotating %s", who, target)
	case KindConfirm:
		return fmt.Sprintf("%s tried to confirm a rotation of %s", who, target)
	case KindAbort:
		return fmt.Sprintf("%s tried to abandon a rotation of %s", who, target)
	case KindTrash:
		return fmt.Sprintf("%s tried to move %s to the trash", who, target)
	case KindRestore:
		return fmt.Sprintf("%s tried to restore %s", who, target)
	case KindPurge:
		return fmt.Sprintf("%s tried to purge %s", who, target)
	case KindReencrypt:
		return fmt.Sprintf("%s tried to re-encrypt %s", who, target)
	case KindTOTP:
		return fmt.Sprintf("%s tried to change the two-factor seed of %s", who, target)
	}
	return fmt.Sprintf("%s tried to make a change of an unknown kind (%s)", who, kind)
}

// targetOf names what an operation is about, from its payload and the
// state, for a refused operation.
func (f *folder) targetOf(op *Op) string {
	member := func(id MemberID) string { return f.nameOf(id) }
	switch p := op.Payload.(type) {
	case *MemberAdd:
		return p.Member.Name
	case *MemberEdit:
		return member(p.Member)
	case *MemberRemove:
		return member(p.Member)
	case *MemberRekey:
		return member(p.Member)
	case *RekeyRequest:
		return member(op.Body.Author)
	case *SecretAdd:
		return p.Name
	}
	if id := secretOf(op.Payload); id != (SecretID{}) {
		if s := f.loadSecret(id); s != nil {
			return s.Name
		}
	}
	return ""
}
